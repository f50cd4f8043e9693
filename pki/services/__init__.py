"""PKI use cases, split by domain: cas (hierarchy, OCSP responders), certificates (issuance),
revocation (four-eyes requests and revocation), crl, ocsp, keys (card management keys)."""
