"""The repository carries its own documentation: README.md, docs/ and the OpenAPI documents
name only files that are in it, and nothing outside it (such as a design document elsewhere)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A backticked file or folder name: has a file extension or a folder slash, no spaces.
FILE_NAME = re.compile(r"`([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.{}*-]*)*(?:\.[a-z]{2,4}|/))`")
OUTSIDE = re.compile(r"DESIGN\.md|(?<!\.)\.\./|/work/|reference/models-of-care")


def test_docs_name_only_files_in_the_repository() -> None:
    for doc in DOCS:
        text = doc.read_text()
        assert not OUTSIDE.findall(text), (doc.name, OUTSIDE.findall(text))
        for name in FILE_NAME.findall(text):
            if "*" in name or "{" in name or name.startswith("data/"):
                continue  # patterns, and what a run creates
            assert (ROOT / name).exists() or (doc.parent / name).exists(), (doc.name, name)


def test_the_docs_index_links_every_document() -> None:
    index = (ROOT / "docs" / "README.md").read_text()
    for doc in (ROOT / "docs").glob("*.md"):
        if doc.name != "README.md":
            assert f"`{doc.name}`" in index, doc.name


def test_service_descriptions_point_inside_the_repository() -> None:
    for name in ("referral", "journey"):
        document = (ROOT / "openapi" / f"{name}.openapi.json").read_text()
        assert "DESIGN.md" not in document, name
