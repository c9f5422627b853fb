"""The NDTMS adult data set as we send it: its version letter, every item in column order, and
every mapping from our codes to the national ones. The one place to change when the current
data set's documents are in hand (docs/ndtms.md).

Sources, graded: [gov] official, [impl] one
vendor's implementation (Canary-NDTMS, data set K), [3p] third party. GUESS marks a value no
source gives: it is ours and must be checked against the data set R reference data.
"""

from enum import Enum

from services.common.codes import (
    AccommodationNeed,
    Employment,
    Ethnicity,
    ExitReason,
    HepatitisBStatus,
    HepatitisBVaccination,
    HepatitisCTest,
    InjectingStatus,
    InterventionExitStatus,
    InterventionSetting,
    Modality,
    ParentalStatus,
    ReferralSource,
    Religion,
    Route,
    Sex,
    SexualOrientation,
    Substance,
    TopStage,
    YesNoDeclined,
)

# The layout and the code lists below are data set K's (the only layout seen, [impl]); data
# set R is in force from 1 April 2024 [gov] but its CSV specification was not read (§1.5).
DATA_SET = "K"
NOT_HELD = "NA"  # an item we do not hold [impl]
DATE_FORMAT = "%Y-%m-%d"  # as the implementation passes dates through [impl]; unverified (§7.1)

# Every item, in column order: §2.1 client, §2.2 episode, §2.3 modality, in the order the
# reference lists them (from the implementation's K schema [impl]).
CLIENT_ITEMS = (
    "FINITIAL",  # [impl]
    "SINITIAL",  # [impl]
    "DOB",  # [impl]
    "SEX",  # [impl]
    "ETHNIC",  # [impl]
    "NATION",  # [BD-H] [impl]
    "CLIENT",  # [impl]: a copy of CLIENTID
    "CLIENTID",  # [BD-EARLY] [gov]
    "CONSENT",  # [BD-EARLY] [gov]
    "PC",  # [BD-EARLY]: full postcode; we hold only the district, so NA
    "DAT",  # [impl]: not held
    "PCT",  # [impl]: not held
    "LA",  # [BD-P] [impl]
    "UTLA",  # [CJIT-P]: not held
    "GPPTCE",  # [impl]
    "SEXUAL",  # [BD-H] [BD-M]
    "EMPSTAT",  # [impl]
    "RELIGION",  # [BD-M] added in M; GUESS: the column name was not seen
    "DISABLE",  # [BD-M] added in M; GUESS: the column name was not seen
    "PRNTSTAT",  # [BD-H] [impl]
    "CHILDWTH",  # [BD-H]
    "PREGNANT",  # [BD-H]
    "ACCMNEED",  # [BD-H]
    "VETERAN",  # [CJIT-P]
)
EPISODE_ITEMS = (
    "AGNCY",  # [impl]: GUESS, our organisation code stands for the NDTMS agency code
    "EPISODID",  # [BD-EARLY] [gov]
    "REFLD",  # [impl]
    "PREVTR",  # [impl]
    "RFLS",  # [impl]
    "TRIAGED",  # [impl]
    "CPLANDT",  # [impl]
    "DRUG1",  # [BD-EARLY] [impl]
    "DRUG2",
    "DRUG3",
    "DRUG1AGE",  # [BD-EARLY]
    "ROUTE",  # [impl]
    "INJSTAT",  # [impl]
    "ALCDDAYS",  # [BD-H]
    "ALCUNITS",  # [BD-H]
    "DUALDIAG",  # [BD-H]: not held
    "HEPCTSTD",  # [impl]: Hep C latest test date (reading of the reference's list)
    "HEPCSTAT",  # [impl]: Hep C intervention status
    "HEPCTD",  # [impl]: Hep C tested; GUESS Y/N (the implementation always sends 99)
    "HEPBVAC",  # [impl]
    "HEPBSTAT",  # [impl]
    "INJECT",  # [impl]: not held (TOP)
    "SHARE",  # [impl]: not held (TOP)
    "PREVHEPB",  # [impl]: not held
    "HEPCPOS",  # [impl]: from the Hep C test result
    "REFHEPGY",  # [impl]: not held
    "HLCASSDT",  # [BD-EARLY]: not held
    "NALOXISS",  # [CJIT-P]: GUESS Y/N
    "TOPCC",  # [TOP2] §5.4: Y/N, this provider the client's TOP care coordinator (NA: none named)
    "DISD",  # [impl]
    "DISRSN",  # [impl]
)
MODALITY_ITEMS = (
    "MODID",  # [BD-EARLY] [gov]
    "MODAL",  # [impl]
    "REFMODDT",  # [impl]
    "FAOMODDT",  # [BD-EARLY]
    "MODSET",  # [J-GUIDE] [gov]
    "MODST",  # [impl]
    "MODEND",  # [impl]
    "MODEXIT",  # [BD-H] [impl]
)
# The episode's latest TOP (by interview date) [impl] (reference §2.5: each code matched to a
# form item by its name, an inference). Days items are 28-day totals; `NA` is also the answer
# "not disclosed / not answered".
TOP_ITEMS = (
    "TOPID",
    "TOPDATE",
    "TRSTAGE",
    "ALCUSE",
    "OPIUSE",
    "CRAUSE",
    "COCAUSE",
    "AMPHUSE",
    "CANNUSE",
    "OTDRGUSE",
    "IVDRGUSE",
    "SHARING",
    "SHOTHEFT",
    "DRGSELL",
    "OTHTHEFT",
    "ASSAULT",
    "PSYHSTAT",
    "PWORK",
    "EDUCAT",
    "ACUTHPBM",
    "HRISK",
    "PHSTAT",
    "QUALLIFE",
)
COLUMNS = CLIENT_ITEMS + EPISODE_ITEMS + MODALITY_ITEMS + TOP_ITEMS
# A client without consent (CONSENT = N) is sent with these only, the rest empty [impl].
CONSENT_N_ITEMS = ("AGNCY", "CLIENTID", "CONSENT")

YES_NO = {True: "Y", False: "N"}  # [impl] [BD-EARLY]
YES_NO_DECLINED: dict[Enum, str] = {
    YesNoDeclined.YES: "Y",  # GUESS
    YesNoDeclined.NO: "N",  # GUESS
    YesNoDeclined.DECLINED: "Z",  # GUESS, after INJSTAT's and SEXUAL's Z [impl]
}

CODES: dict[str, dict[Enum, str]] = {
    "TRSTAGE": {  # the form's four stages [gov]; the codes are a GUESS (§3.11: not verified)
        TopStage.START: "S",
        TopStage.REVIEW: "R",
        TopStage.EXIT: "E",
        TopStage.POST_EXIT: "P",
    },
    "SEX": {
        Sex.MALE: "M",  # [impl]
        Sex.FEMALE: "F",  # [impl]
        # indeterminate, not known: no national code seen (§3.7): unmapped, flagged by validation
    },
    "ETHNIC": {  # NHS 2001-census categories [impl]
        Ethnicity.WHITE_BRITISH: "A",
        Ethnicity.WHITE_IRISH: "B",
        Ethnicity.OTHER_WHITE: "C",
        Ethnicity.WHITE_AND_BLACK_CARIBBEAN: "D",
        Ethnicity.WHITE_AND_BLACK_AFRICAN: "E",
        Ethnicity.WHITE_AND_ASIAN: "F",
        Ethnicity.OTHER_MIXED: "G",
        Ethnicity.INDIAN: "H",
        Ethnicity.PAKISTANI: "J",
        Ethnicity.BANGLADESHI: "K",
        Ethnicity.OTHER_ASIAN: "L",
        Ethnicity.CARIBBEAN: "M",
        Ethnicity.AFRICAN: "N",
        Ethnicity.OTHER_BLACK: "P",
        Ethnicity.CHINESE: "R",
        Ethnicity.OTHER: "S",
        Ethnicity.NOT_STATED: "Z",
    },
    "SEXUAL": {  # [impl]
        SexualOrientation.HETEROSEXUAL: "H",
        SexualOrientation.GAY_OR_LESBIAN: "G",
        SexualOrientation.BISEXUAL: "B",
        SexualOrientation.OTHER: "R",
        SexualOrientation.DECLINED: "Z",
    },
    "EMPSTAT": {  # [impl]
        Employment.REGULAR_EMPLOYMENT: "1",
        Employment.STUDENT: "2",
        Employment.OTHER: "5",
        Employment.LONG_TERM_SICK_OR_DISABLED: "9",
        Employment.HOMEMAKER: "10",
        Employment.UNEMPLOYED_SEEKING_WORK: "12",
        Employment.UNPAID_VOLUNTARY_WORK: "14",
        Employment.RETIRED: "15",
        Employment.NOT_STATED: "99",
    },
    "RELIGION": {  # GUESS, every code: the list was added in M and not seen [BD-M]
        Religion.NONE: "1",
        Religion.CHRISTIAN: "2",
        Religion.BUDDHIST: "3",
        Religion.HINDU: "4",
        Religion.JEWISH: "5",
        Religion.MUSLIM: "6",
        Religion.SIKH: "7",
        Religion.OTHER: "8",
        Religion.DECLINED: "Z",
    },
    "DISABLE": YES_NO_DECLINED,  # GUESS [BD-M]
    "VETERAN": YES_NO_DECLINED,  # GUESS [CJIT-P]
    "PRNTSTAT": {  # [impl] "NDTMS" list
        ParentalStatus.ALL_CHILDREN_LIVE_WITH_CLIENT: "11",
        ParentalStatus.SOME_CHILDREN_LIVE_WITH_CLIENT: "12",
        ParentalStatus.NO_CHILDREN_LIVE_WITH_CLIENT: "13",
        ParentalStatus.NOT_A_PARENT: "14",
        ParentalStatus.DECLINED: "15",
    },
    "ACCMNEED": {  # [impl]
        AccommodationNeed.URGENT_HOUSING_PROBLEM: "1",
        AccommodationNeed.HOUSING_PROBLEM: "2",
        AccommodationNeed.NO_HOUSING_PROBLEM: "3",
    },
    "RFLS": {  # [impl], the older list (§3.1); the current one was not verified
        ReferralSource.SELF: "4",
        ReferralSource.GP: "3",
        ReferralSource.CJIT: "5",  # Arrest Referral / DIP
        ReferralSource.CARAT: "13",  # CARAT / Prison
        ReferralSource.PROBATION: "8",
        ReferralSource.HOSPITAL: "9",  # A&E; GUESS over 22 (general hospital)
        ReferralSource.OTHER_PROVIDER: "1",  # GUESS: drug service statutory (2 if not)
        ReferralSource.SOCIAL_CARE: "19",  # Social Services
        ReferralSource.FAMILY_OR_FRIEND: "25",  # GUESS: concerned other (24 is relative)
        ReferralSource.OTHER: "15",
    },
    "DRUG": {  # [impl] (§3.8); 1xxx opiates, 2xxx sedatives, 3xxx stimulants, ...
        Substance.HEROIN: "1011",
        Substance.METHADONE_ILLICIT: "1105",
        Substance.BUPRENORPHINE_ILLICIT: "1000",  # GUESS: other opiates (no own code seen)
        Substance.OTHER_OPIATES: "1000",
        Substance.BENZODIAZEPINES: "2200",
        Substance.AMPHETAMINES: "3100",
        Substance.COCAINE: "3200",
        Substance.CRACK: "3201",
        Substance.ECSTASY: "3406",
        Substance.HALLUCINOGENS: "4000",
        Substance.CANNABIS: "5000",
        Substance.SOLVENTS: "6000",
        Substance.ALCOHOL: "7000",
        Substance.PRESCRIPTION_DRUGS: "9005",
        Substance.OTHER_DRUGS: "8799",
    },
    "ROUTE": {  # [impl]
        Route.INJECT: "1",
        Route.SNIFF: "2",
        Route.SMOKE: "3",
        Route.ORAL: "4",
        Route.OTHER: "5",
    },
    "INJSTAT": {  # [impl] [3p]
        InjectingStatus.PREVIOUSLY: "P",
        InjectingStatus.CURRENTLY: "C",
        InjectingStatus.NEVER: "N",
        InjectingStatus.DECLINED: "Z",
    },
    "HEPCSTAT": {  # [impl]
        HepatitisCTest.OFFERED_AND_ACCEPTED: "A",
        HepatitisCTest.OFFERED_AND_REFUSED: "B",
        HepatitisCTest.NOT_OFFERED: "D",
    },
    "HEPBSTAT": {  # [impl]
        HepatitisBStatus.OFFERED_AND_ACCEPTED: "A",
        HepatitisBStatus.OFFERED_AND_REFUSED: "B",
        HepatitisBStatus.IMMUNISED_ALREADY: "C",
        HepatitisBStatus.NOT_OFFERED: "D",
        HepatitisBStatus.ACQUIRED_IMMUNITY: "E",
    },
    "HEPBVAC": {  # [impl]
        HepatitisBVaccination.ONE: "1",
        HepatitisBVaccination.TWO: "2",
        HepatitisBVaccination.THREE: "3",
        HepatitisBVaccination.COURSE_COMPLETED: "C",
    },
    "MODAL": {  # [impl], the list before J (§3.3); J-era types 94/95/96 are unverified
        Modality.INPATIENT: "1",
        Modality.SPECIALIST_PRESCRIBING: "2",
        Modality.GP_PRESCRIBING: "3",
        Modality.STRUCTURED_PSYCHOSOCIAL: "4",
        Modality.STRUCTURED_DAY_PROGRAMME: "5",
        Modality.RESIDENTIAL_REHABILITATION: "6",
        Modality.HARM_REDUCTION: "8",  # GUESS: needle exchange is the nearest
        Modality.ADVICE_AND_INFORMATION: "10",
        Modality.BRIEF_PSYCHOSOCIAL: "10",  # GUESS: advice and information is the nearest
        Modality.OTHER_STRUCTURED: "12",
    },
    "MODSET": {  # [impl], not verified against NDTMS
        InterventionSetting.GP: "1",
        InterventionSetting.INPATIENT: "2",
        InterventionSetting.OUTPATIENT: "3",
        InterventionSetting.PRISON: "5",
        InterventionSetting.COMMUNITY: "6",
        InterventionSetting.RECOVERY_HOUSE: "7",
        InterventionSetting.RESIDENTIAL: "8",
    },
    "MODEXIT": {  # [impl] [BD-H]
        InterventionExitStatus.MUTUALLY_AGREED_PLANNED: "A",
        InterventionExitStatus.CLIENT_UNILATERAL_UNPLANNED: "B",
        InterventionExitStatus.WITHDRAWN: "C",
    },
    "DISRSN": {  # [impl], labels confirmed for 2007/08 [HANS-0109]; the post-2009 codes unknown
        ExitReason.TREATMENT_COMPLETED_DRUG_FREE: "1",
        ExitReason.TREATMENT_COMPLETED_OCCASIONAL_USER: "2",
        ExitReason.TREATMENT_WITHDRAWN: "3",
        ExitReason.TRANSFERRED: "5",  # referred on
        ExitReason.DROPPED_OUT: "6",
        ExitReason.MOVED_AWAY: "7",
        ExitReason.IN_CUSTODY: "8",
        ExitReason.DIED: "9",
        ExitReason.OTHER: "10",
        ExitReason.DECLINED: "12",
    },
}
# Which of our coded lists each item's codes come from.
ENUM_OF = {item: type(next(iter(codes))) for item, codes in CODES.items() if codes}


class Unmapped(Exception):
    """One of our codes has no national code."""

    def __init__(self, item: str, value: str) -> None:
        super().__init__(f"{value} has no national {item} code")
        self.item, self.value = item, value


def national(item: str, value: str | None) -> str | None:
    """The national code of one of our values (None: not held)."""
    if value is None:
        return None
    enum = ENUM_OF[item]
    code = CODES[item].get(enum(value))
    if code is None:
        raise Unmapped(item, value)
    return code


def national_codes() -> dict[str, object]:
    """For GET /codes: per item, our value -> its national code (null: none)."""
    return {
        "data_set": DATA_SET,
        "items": {
            item: {m.value: codes.get(m) for m in ENUM_OF[item]} for item, codes in CODES.items()
        },
    }
