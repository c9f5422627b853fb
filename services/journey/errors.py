"""Journey domain errors -> problem+json status and rule slug; the only place with statuses."""

from services.common.access import ACCESS_ERRORS
from services.common.store import ConcurrentChangeError
from services.journey import rules as r

STATUS: dict[type[Exception], tuple[int, str]] = {
    r.EpisodeNotFoundError: (404, "not-found"),
    r.InterventionNotFoundError: (404, "not-found"),
    r.EventNotFoundError: (404, "not-found"),
    r.EpisodeVoidError: (409, "episode-recorded-in-error"),
    r.EpisodeClosedError: (409, "episode-closed"),
    r.AlreadyDischargedError: (409, "already-discharged"),
    r.AlreadyTriagedError: (409, "already-triaged"),
    r.CarePlanBeforeTriageError: (409, "care-plan-before-triage"),
    r.StructuredInterventionBeforeCarePlanError: (409, "structured-intervention-before-care-plan"),
    r.ReviewWithoutPlanError: (409, "review-without-plan"),
    r.UnknownGoalError: (422, "unknown-goal"),
    r.InterventionEndsBeforeStartError: (422, "intervention-ends-before-start"),
    r.InterventionAlreadyEndedError: (409, "intervention-already-ended"),
    r.DischargeBeforeEarlierEventError: (422, "discharge-before-earlier-event"),
    r.NotDischargedError: (409, "not-discharged"),
    r.AlreadyReEngagedError: (409, "already-re-engaged"),
    r.DateBeforeReferralError: (422, "date-before-referral"),
    r.DateInFutureError: (422, "date-in-future"),
    r.DateBeforeDischargeError: (422, "date-before-discharge"),
    r.UncorrectableEventError: (409, "uncorrectable-event"),
    r.VersionMismatchError: (412, "version-mismatch"),
    ConcurrentChangeError: (409, "concurrent-change"),
    **ACCESS_ERRORS,
}
