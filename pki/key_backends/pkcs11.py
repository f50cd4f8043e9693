"""PKCS#11 key backend: keys generated and used inside a token (an HSM; SoftHSM2 in tests).

Private and secret keys are created with CKA_SENSITIVE=true and CKA_EXTRACTABLE=false, so the
token never lets them out; this process only ever holds handles. Sessions are pooled: opened and
logged in once, then reused. PKCS#11 logs in per application, so the first session logs in with
the user PIN and the others share that login (PKCS#11 v2.40 §5.6). python-pkcs11 initialises
the module with C_Initialize(NULL_PTR), which tells the module it need not be thread-safe
(§5.4; SoftHSM2 then runs without locks), so every call into a module is serialised by a lock of
this process; throughput scales with worker processes, each with its own sessions. A forked
child (Celery prefork) re-initialises the library before its first use, as the standard requires.

Mechanisms are the ones every token offers, SoftHSM2 2.6.1 included: ECDSA over a digest
computed here (SoftHSM2 has no CKM_ECDSA_SHA256), CKM_SHA*_RSA_PKCS, CKM_SHA256_HMAC.

One module over 400 lines on purpose: the session pool, the locking and the key operations share
the rules above (one lock, one login, re-initialisation after fork), which split files would
have to restate.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import queue
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pkcs11
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo, Prehashed
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.types import Key, PublicKey, Session, SignMixin, Token
from pkcs11.util.ec import (
    encode_ec_public_key,
    encode_ecdsa_signature,
    encode_named_curve_parameters,
)
from pkcs11.util.rsa import encode_rsa_public_key

from pki.key_backends.adapters import (
    BackendEllipticCurvePrivateKey,
    BackendRSAPrivateKey,
    RsaSignatureHash,
)
from pki.key_backends.base import (
    KeyAlgorithm,
    KeyBackend,
    KeyBackendError,
    KeyNotFound,
    SupportedPrivateKey,
    SupportedPublicKey,
    check_label,
    supported_public_key,
)

if TYPE_CHECKING:
    from pkcs11 import _pkcs11

_CURVE_NAMES = {KeyAlgorithm.EC_P256: "secp256r1", KeyAlgorithm.EC_P384: "secp384r1"}
_RSA_MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}
# RFC 8017 §9.2 note 1: DER of DigestInfo before the hash, for signing a prehashed digest with
# the raw CKM_RSA_PKCS mechanism.
# Keyed by digest size: SHA-256, SHA-384, SHA-512.
_DIGEST_INFO_PREFIXES = {
    32: bytes.fromhex("3031300d060960864801650304020105000420"),
    48: bytes.fromhex("3041300d060960864801650304020205000430"),
    64: bytes.fromhex("3051300d060960864801650304020305000440"),
}
# Attributes of every key this backend creates: on the token, private to the logged-in user,
# never readable or wrappable out of it.
_PRIVATE_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_SECRET_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}


# One lock per PKCS#11 module path, shared by every backend alias using that module.
_MODULE_LOCKS: dict[str, threading.RLock] = {}
_MODULE_LOCKS_GUARD = threading.Lock()


# The process that initialised each module: a forked child re-initialises it once, whichever
# backend alias reaches it first (PKCS#11 v2.40 §6.7.7: a child must not use the parent's state).
_MODULE_PIDS: dict[str, int] = {}


def _module_lock(module: str) -> threading.RLock:
    with _MODULE_LOCKS_GUARD:
        return _MODULE_LOCKS.setdefault(module, threading.RLock())


def _load_module(module: str) -> _pkcs11.lib:
    """The module, initialised for this process. Call under the module's lock."""
    lib = pkcs11.lib(module)
    pid = os.getpid()
    if _MODULE_PIDS.get(module, pid) != pid:
        lib.reinitialize()
    _MODULE_PIDS[module] = pid
    return lib


@contextmanager
def _host_lock(module: str, token_label: str) -> Iterator[None]:
    """Serialise initialisation and login across the processes of this host.

    SoftHSM2 rewrites its token file when a user logs in; a process reading it meanwhile (as
    Celery's prefork children starting together do) sees no token, or an uninitialised PIN. An
    HSM does not need this lock; it costs one flock per process start.
    """
    digest = hashlib.sha256(f"{module}|{token_label}".encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"cardforge-pkcs11-{digest}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _key_id(label: str) -> bytes:
    """CKA_ID shared by the two halves of a key pair; derived from the label."""
    return hashlib.sha256(label.encode()).digest()[:16]


@runtime_checkable
class _RevealsSecret(Protocol):
    """A PIN held in a config.env.Secret (settings), which shows it only when asked."""

    def reveal(self) -> bytes | str: ...


def _text_option(alias: str, options: Mapping[str, object], name: str) -> str:
    value = options.get(name)
    if not value:
        msg = f"key backend {alias!r}: OPTIONS[{name!r}] is required"
        raise KeyBackendError(msg)
    if not isinstance(value, str):
        msg = f"key backend {alias!r}: OPTIONS[{name!r}] must be text"
        raise KeyBackendError(msg)
    return value


class Pkcs11KeyBackend(KeyBackend):
    """OPTIONS: module (path of the PKCS#11 library), token_label, user_pin (a Secret or str),
    pool_size (sessions kept open, default 4)."""

    def __init__(self, alias: str, options: Mapping[str, object]) -> None:
        super().__init__(alias, options)
        self._module = _text_option(alias, options, "module")
        self._token_label = _text_option(alias, options, "token_label")
        if not options.get("user_pin"):
            msg = f"key backend {alias!r}: OPTIONS['user_pin'] is required"
            raise KeyBackendError(msg)
        pool_size = options.get("pool_size", 4)
        if not isinstance(pool_size, int | str):
            msg = f"key backend {alias!r}: OPTIONS['pool_size'] must be a number of sessions"
            raise KeyBackendError(msg)
        self._pool_size = int(pool_size)
        self._lock = threading.Lock()
        self._module_lock = _module_lock(self._module)
        self._pid: int | None = None
        self._token: Token | None = None
        self._pool: queue.LifoQueue[Session] = queue.LifoQueue()
        self._open_sessions = 0
        self._public: dict[str, SupportedPublicKey] = {}

    # --- sessions ----------------------------------------------------------------------------

    def _pin(self) -> bytes | str:
        pin = self.options["user_pin"]
        return pin.reveal() if isinstance(pin, _RevealsSecret) else str(pin)

    def _ensure_process(self) -> Token:
        """The token, opened for this process (again in a forked child) with one logged-in
        session in the pool."""
        pid = os.getpid()
        token = self._token
        if self._pid == pid and token is not None:
            return token
        with self._lock, _host_lock(self._module, self._token_label):
            token = self._token
            if self._pid == pid and token is not None:
                return token
            lib = _load_module(self._module)
            try:
                token = lib.get_token(token_label=self._token_label)
            except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned) as exc:
                msg = (
                    f"key backend {self.alias!r}: no single token labelled "
                    f"{self._token_label!r} in {self._module} ({type(exc).__name__})"
                )
                raise KeyBackendError(msg) from None
            self._token = token
            # The first session logs the application in, under the host lock too.
            self._pool = queue.LifoQueue()
            self._pool.put(self._open_session(token))
            self._open_sessions = 1
            self._public.clear()
            self._pid = pid
            return token

    def _open_session(self, token: Token) -> Session:
        try:
            return token.open(rw=True, user_pin=self._pin())
        except pkcs11.UserAlreadyLoggedIn:
            # The application is logged in already (another session did it): share that login.
            return token.open(rw=True)
        except pkcs11.PinIncorrect:
            msg = f"key backend {self.alias!r}: the token refused the PIN (CARDFORGE_PKCS11_PIN)"
            raise KeyBackendError(msg) from None

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A logged-in session from the pool, used under the module's lock. (The lock is
        re-entrant: a nested use in one thread takes a second session.)"""
        with self._module_lock:
            token = self._ensure_process()
            try:
                session = self._pool.get_nowait()
            except queue.Empty:
                if self._open_sessions >= self._pool_size:
                    msg = f"key backend {self.alias!r}: all {self._pool_size} sessions are in use"
                    raise KeyBackendError(msg) from None
                session = self._open_session(token)
                self._open_sessions += 1
            try:
                yield session
            finally:
                self._pool.put(session)

    # --- lookups -----------------------------------------------------------------------------

    @staticmethod
    def _find(session: Session, object_class: ObjectClass, label: str) -> Key | None:
        try:
            return session.get_key(object_class=object_class, label=label)
        except pkcs11.NoSuchKey:
            return None
        except pkcs11.MultipleObjectsReturned:
            msg = f"more than one {object_class.name} labelled {label!r} on the token"
            raise KeyBackendError(msg) from None

    def _exists(self, session: Session, label: str) -> bool:
        return any(
            self._find(session, object_class, label) is not None
            for object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.SECRET_KEY)
        )

    def has_key(self, handle: str) -> bool:
        with self._session() as session:
            return self._exists(session, handle)

    # --- asymmetric keys ---------------------------------------------------------------------

    def create_key(self, *, label: str, algorithm: KeyAlgorithm) -> str:
        check_label(label)
        algorithm = KeyAlgorithm(algorithm)
        with self._session() as session:
            if self._exists(session, label):
                msg = f"key backend {self.alias!r} already holds a key labelled {label!r}"
                raise KeyBackendError(msg)
            key_id = _key_id(label)
            public_template: dict[Attribute, object] = {
                Attribute.TOKEN: True,
                Attribute.VERIFY: True,
            }
            if algorithm.is_ec:
                parameters = session.create_domain_parameters(
                    KeyType.EC,
                    {Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVE_NAMES[algorithm])},
                    local=True,
                )
                parameters.generate_keypair(
                    store=True,
                    label=label,
                    id=key_id,
                    public_template=public_template,
                    private_template=_PRIVATE_TEMPLATE,
                )
            else:
                session.generate_keypair(
                    KeyType.RSA,
                    algorithm.key_size,
                    store=True,
                    label=label,
                    id=key_id,
                    public_template={
                        **public_template,
                        Attribute.PUBLIC_EXPONENT: b"\x01\x00\x01",
                    },
                    private_template=_PRIVATE_TEMPLATE,
                )
        return label

    def public_key(self, handle: str) -> SupportedPublicKey:
        cached = self._public.get(handle)
        if cached is not None and self._pid == os.getpid():
            return cached
        with self._session() as session:
            public = self._find(session, ObjectClass.PUBLIC_KEY, handle)
            if not isinstance(public, PublicKey):
                msg = f"no key pair {handle!r} in key backend {self.alias!r}"
                raise KeyNotFound(msg)
            if public.key_type == KeyType.EC:
                der = encode_ec_public_key(public)
            elif public.key_type == KeyType.RSA:
                der = encode_rsa_public_key(public)
            else:
                msg = f"key {handle!r} in key backend {self.alias!r} is neither EC nor RSA"
                raise KeyBackendError(msg)
        try:
            key = supported_public_key(serialization.load_der_public_key(der))
        except ValueError as exc:
            msg = f"key {handle!r} in key backend {self.alias!r}: {exc}"
            raise KeyBackendError(msg) from None
        self._public[handle] = key
        return key

    def private_key(self, handle: str) -> SupportedPrivateKey:
        public = self.public_key(handle)
        if isinstance(public, ec.EllipticCurvePublicKey):
            return BackendEllipticCurvePrivateKey(
                backend_alias=self.alias,
                handle=handle,
                public_key=public,
                signer=lambda data, algorithm: self._sign_ec(handle, data, algorithm),
            )
        return BackendRSAPrivateKey(
            backend_alias=self.alias,
            handle=handle,
            public_key=public,
            signer=lambda data, pad, algorithm: self._sign_rsa(handle, data, pad, algorithm),
        )

    def _sign_with(self, handle: str, data: bytes, mechanism: Mechanism) -> bytes:
        with self._session() as session:
            key = self._find(session, ObjectClass.PRIVATE_KEY, handle)
            if key is None:
                msg = f"no private key {handle!r} in key backend {self.alias!r}"
                raise KeyNotFound(msg)
            if not isinstance(key, SignMixin):
                msg = f"private key {handle!r} in key backend {self.alias!r} cannot sign"
                raise KeyBackendError(msg)
            return key.sign(data, mechanism=mechanism)

    def _sign_ec(
        self, handle: str, data: bytes, algorithm: ec.EllipticCurveSignatureAlgorithm
    ) -> bytes:
        if not isinstance(algorithm, ec.ECDSA):
            msg = f"only ECDSA signatures are available, not {type(algorithm).__name__}"
            raise TypeError(msg)
        chosen = algorithm.algorithm
        if isinstance(chosen, Prehashed):
            digest = data
        else:
            hasher = hashes.Hash(chosen)
            hasher.update(data)
            digest = hasher.finalize()
        # CKM_ECDSA returns r || s (PKCS#11 v2.40 §2.3.1); X.509 wants Ecdsa-Sig-Value (RFC 3279).
        return encode_ecdsa_signature(self._sign_with(handle, digest, Mechanism.ECDSA))

    def _sign_rsa(
        self,
        handle: str,
        data: bytes,
        pad: padding.AsymmetricPadding,
        algorithm: RsaSignatureHash,
    ) -> bytes:
        if not isinstance(pad, padding.PKCS1v15) or isinstance(algorithm, NoDigestInfo):
            msg = "only RSASSA-PKCS1-v1_5 signatures are available from this backend"
            raise TypeError(msg)
        if isinstance(algorithm, Prehashed):
            prefix = _DIGEST_INFO_PREFIXES.get(algorithm.digest_size)
            if prefix is None or len(data) != algorithm.digest_size:
                msg = "only SHA-256, SHA-384 and SHA-512 digests can be signed with RSA"
                raise TypeError(msg)
            return self._sign_with(handle, prefix + data, Mechanism.RSA_PKCS)
        mechanism = _RSA_MECHANISMS.get(algorithm.name)
        if mechanism is None:
            msg = f"{algorithm.name} is not available for RSA signatures"
            raise TypeError(msg)
        return self._sign_with(handle, data, mechanism)

    # --- secret keys -------------------------------------------------------------------------

    def create_secret_key(self, *, label: str) -> str:
        check_label(label)
        with self._session() as session:
            if self._exists(session, label):
                msg = f"key backend {self.alias!r} already holds a key labelled {label!r}"
                raise KeyBackendError(msg)
            session.generate_key(
                KeyType.GENERIC_SECRET,
                256,
                store=True,
                label=label,
                id=_key_id(label),
                template=_SECRET_TEMPLATE,
            )
        return label

    def _hmac_sha256(self, handle: str, data: bytes) -> bytes:
        with self._session() as session:
            key = self._find(session, ObjectClass.SECRET_KEY, handle)
            if key is None:
                msg = f"no secret key {handle!r} in key backend {self.alias!r}"
                raise KeyNotFound(msg)
            if not isinstance(key, SignMixin):
                msg = f"secret key {handle!r} in key backend {self.alias!r} cannot sign"
                raise KeyBackendError(msg)
            return key.sign(data, mechanism=Mechanism.SHA256_HMAC)
