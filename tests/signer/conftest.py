"""The signer's tests use the personalization job fixtures (a PKI, a station, approved
requests)."""

from tests.personalization.jobs.conftest import approved, pki, station  # noqa: F401
