"""Field types shared by the services' request and response models."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

OrganisationCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
]
UserName = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]


class StrictIn(BaseModel):
    """Request bodies reject unknown fields, so a misspelt field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")
