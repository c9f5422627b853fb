"""Identifiers both services derive, so neither needs to ask the other."""

from uuid import UUID, uuid5

EPISODE_NAMESPACE = UUID("6f1c2c52-8f5e-4d0c-9a55-2d6e0c1f7a10")


def episode_id_for_referral(referral_id: UUID) -> UUID:
    """The episode an accepted referral opens: deterministic, so one accepted referral can never
    open two episodes, and the referral service can name it before the journey service has
    followed the feed."""
    return uuid5(EPISODE_NAMESPACE, f"referral:{referral_id}")
