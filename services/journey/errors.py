"""Journey domain errors -> problem+json status and rule slug; the only place with statuses."""

from services.common.access import ACCESS_ERRORS
from services.common.store import ConcurrentChangeError
from services.journey import top_coordinator
from services.journey.steps import (
    assessment,
    base,
    care_plan,
    corrections,
    discharge,
    interventions,
    opening,
    top,
)

STATUS: dict[type[Exception], tuple[int, str]] = {
    base.EpisodeNotFoundError: (404, "not-found"),
    interventions.InterventionNotFoundError: (404, "not-found"),
    corrections.EventNotFoundError: (404, "not-found"),
    base.EpisodeVoidError: (409, "episode-recorded-in-error"),
    base.EpisodeClosedError: (409, "episode-closed"),
    base.AlreadyDischargedError: (409, "already-discharged"),
    assessment.AlreadyTriagedError: (409, "already-triaged"),
    care_plan.CarePlanBeforeTriageError: (409, "care-plan-before-triage"),
    interventions.StructuredInterventionBeforeCarePlanError: (
        409,
        "structured-intervention-before-care-plan",
    ),
    care_plan.ReviewWithoutPlanError: (409, "review-without-plan"),
    care_plan.UnknownGoalError: (422, "unknown-goal"),
    interventions.InterventionEndsBeforeStartError: (422, "intervention-ends-before-start"),
    interventions.InterventionAlreadyEndedError: (409, "intervention-already-ended"),
    discharge.DischargeBeforeEarlierEventError: (422, "discharge-before-earlier-event"),
    opening.NotDischargedError: (409, "not-discharged"),
    opening.AlreadyReEngagedError: (409, "already-re-engaged"),
    base.DateBeforeReferralError: (422, "date-before-referral"),
    base.DateInFutureError: (422, "date-in-future"),
    opening.DateBeforeDischargeError: (422, "date-before-discharge"),
    top.ReviewTopWithoutStartError: (409, "review-top-without-start"),
    top.PostExitTopBeforeDischargeError: (409, "post-exit-top-before-discharge"),
    top_coordinator.CoordinatorAlreadyOpenError: (409, "top-care-coordinator-open"),
    top_coordinator.NoOpenCoordinatorError: (409, "no-top-care-coordinator"),
    corrections.UncorrectableEventError: (409, "uncorrectable-event"),
    base.VersionMismatchError: (412, "version-mismatch"),
    ConcurrentChangeError: (409, "concurrent-change"),
    **ACCESS_ERRORS,
}
