"""Settings of the Celery workers the crash tests start: the product's settings, with the card
transports and the software key backend of tests/personalization/jobs/cues.py, which SIGKILL the
worker in the step named by CARDFORGE_TEST_CUE (no cue: they behave as the product's own)."""

from config.settings import *  # noqa: F403
from config.settings import PKI_KEY_BACKENDS

CARDFORGE_STATION_TRANSPORTS = {
    "emulated": {"BACKEND": "tests.personalization.jobs.cues.CuedEmulatedTransport"},
    "pcsc": {"BACKEND": "tests.personalization.jobs.cues.CuedPcscTransport", "OPTIONS": {}},
}
PKI_KEY_BACKENDS = {
    **PKI_KEY_BACKENDS,
    "software": {
        **PKI_KEY_BACKENDS["software"],
        "BACKEND": "tests.personalization.jobs.cues.CuedSoftwareKeyBackend",
    },
}
# Imported at worker start, before the pool forks: the cue is armed in every pool process.
CELERY_IMPORTS = ["tests.personalization.jobs.cues"]
