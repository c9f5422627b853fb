"""Referral domain errors -> problem+json status and rule slug; the only place with statuses."""

from services.common.access import ACCESS_ERRORS
from services.common.store import ConcurrentChangeError
from services.referral import domain as d

STATUS: dict[type[Exception], tuple[int, str]] = {
    d.ClientNotFoundError: (404, "not-found"),
    d.ReferralNotFoundError: (404, "not-found"),
    d.UnknownClientError: (422, "unknown-client"),
    d.ReferralClosedError: (409, "referral-already-decided"),
    d.DateBeforeReferralError: (422, "date-before-referral"),
    d.DateInFutureError: (422, "date-in-future"),
    d.DateBeforeBirthError: (422, "date-before-birth"),
    d.ProfileBeforeBirthError: (422, "date-before-birth"),
    d.HandoverSourceMismatchError: (422, "handover-source-mismatch"),
    d.VersionMismatchError: (412, "version-mismatch"),
    d.SamePersonError: (409, "already-one-person"),
    d.OnlyRegistrationError: (409, "only-registration"),
    ConcurrentChangeError: (409, "concurrent-change"),
    **ACCESS_ERRORS,
}
