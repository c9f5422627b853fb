from dataclasses import dataclass

from services.common.store import VersionedCache


@dataclass
class Versioned:
    version: int


def test_an_older_version_never_replaces_a_newer_one() -> None:
    cache = VersionedCache(maxsize=10)
    cache.put("a", Versioned(2))
    cache.put("a", Versioned(1))
    assert cache.get("a").version == 2
    cache.put("a", Versioned(3))
    assert cache.get("a").version == 3


def test_it_is_still_bounded_and_evictable() -> None:
    cache = VersionedCache(maxsize=2)
    for key in "abc":
        cache.put(key, Versioned(1))
    assert sorted(cache.cache) == ["b", "c"]
    cache.get("b", evict=True)
    assert sorted(cache.cache) == ["c"]
