# The opening of a delivery's envelopes, compiled (issue 24): included by _yreader_c.pyx (one
# compiled module; ynative checks the SHA-256 of both files). Two entry points, each the fast
# path of a Python reference that stays the oracle and the fallback:
#
# - ``chain_links``: the per-envelope loop of ``crypto.batch.authenticated_by_chain`` (parse,
#   context filter, SHA-256, the authors' runs), the signature checks left to the caller;
# - ``KnownOpener``: ``crypto.envelope.open_envelope`` for an envelope whose signature the batch
#   authentication established. Only the path where every check passes is taken here; for any
#   other envelope (not authenticated, another context, an author who may not write, a replay,
#   a gap or fork, a missing key, a failed tag) it returns None and changes nothing: the caller
#   opens it with ``open_envelope``, which raises or reports as it always did.
#
# The envelope format (docs/security.md, "Envelope format"): a 106-byte header
# ``>B16sBI32sQ32s12s`` (version, team id, compartment, epoch, author, counter, prev_hash,
# nonce), the AES-GCM ciphertext, a 64-byte signature.

from libc.stdint cimport uint32_t, uint64_t

cdef enum:
    _HEADER_SIZE = 106
    _SIGNATURE_SIZE = 64
    _MIN_ENVELOPE = 106 + 16 + 64

cdef bytes _ZERO_HASH = bytes(32)
_Header = None          # crypto.envelope.EnvelopeHeader, set by ``bind_open``
_Envelope = None
_Authenticated = None
_Opened = None
_compartments = None    # {int: Compartment}
_sha256 = None          # hashlib.sha256


def bind_open(header, envelope, authenticated, opened, compartments, sha256):
    """The Python types this section makes and the hash it calls: set once by ``ynative``."""
    global _Header, _Envelope, _Authenticated, _Opened, _compartments, _sha256
    _Header, _Envelope, _Authenticated, _Opened = header, envelope, authenticated, opened
    _compartments, _sha256 = dict(compartments), sha256


cdef object _parse_envelope(bytes raw, Py_ssize_t max_size):
    """``Envelope.parse(raw)`` for bytes, or None where it raises MalformedEnvelopeError."""
    cdef Py_ssize_t size = len(raw)
    cdef const unsigned char *d
    cdef uint32_t epoch
    cdef uint64_t counter
    cdef int i
    if size < _MIN_ENVELOPE or size > max_size:
        return None
    d = raw
    if d[0] != 1:
        return None
    compartment = _compartments.get(d[17])
    if compartment is None:
        return None
    epoch = (<uint32_t>d[18] << 24) | (<uint32_t>d[19] << 16) | (<uint32_t>d[20] << 8) | d[21]
    counter = 0
    for i in range(54, 62):
        counter = (counter << 8) | d[i]
    prev_hash = raw[62:94]
    if (counter == 0) != (prev_hash == _ZERO_HASH):
        return None
    header = _tuple_new(_Header, (1, raw[1:17], compartment, epoch, raw[22:54], counter,
                                  prev_hash, raw[94:106]))
    return _tuple_new(_Envelope, (header, raw[_HEADER_SIZE:size - _SIGNATURE_SIZE],
                                  raw[size - _SIGNATURE_SIZE:], raw))


def chain_links(list raws, team_id, compartment, own, Py_ssize_t max_size, parse, error):
    """The loop of ``authenticated_by_chain`` before its signature checks: (the runs of each
    author, as lists of ``Authenticated``, and the envelopes of ``own`` established by their
    bytes). ``parse``/``error``: ``Envelope.parse`` and the error it raises, for an item that
    is not ``bytes`` (parsed as the reference parses it)."""
    cdef dict runs = {}
    cdef dict done = {}
    cdef list author_runs, last_run
    for raw in raws:
        if type(raw) is bytes:
            env = _parse_envelope(<bytes>raw, max_size)
            if env is None:
                continue
        else:
            try:
                env = parse(raw)
            except error:
                continue
        h = env[0]
        if h[1] != team_id or h[2] is not compartment:
            continue
        link = _tuple_new(_Authenticated, (env, _sha256(env[3]).digest()))
        if raw in own:
            done[env[3]] = link
            continue
        author = h[4]
        author_runs = runs.get(author)
        if author_runs is None:
            runs[author] = [[link]]
            continue
        last_run = author_runs[-1]
        last = last_run[-1]
        if h[5] == last[0][0][5] + 1 and h[6] == last[1]:
            last_run.append(link)
        else:
            author_runs.append([link])
    return runs, done


cdef class KnownOpener:
    """``open_envelope`` for the authenticated envelopes of one delivery (see the top of this
    file): ``opener(raw, compartment, chain_state)`` is the ``Opened`` the reference would
    return, with ``chain_state`` advanced as it would advance it, or None (nothing changed:
    open it with ``open_envelope``). Built for one synchronous pass over a delivery: it keeps
    each (author, epoch)'s ``log.can_write`` and each epoch's cipher (the log and keyring do
    not change during the pass)."""

    cdef dict known
    cdef bytes team_id
    cdef object log, keyring
    cdef bint context_ok
    cdef dict writable, aeads

    def __init__(self, known, bytes team_id, log, keyring):
        self.known = known if type(known) is dict else dict(known)
        self.team_id = team_id
        self.log = log
        self.keyring = keyring
        self.context_ok = log.team_id == team_id and keyring.team_id == team_id
        self.writable = {}
        self.aeads = {}

    def __call__(self, raw, compartment, chain_state):
        if not self.context_ok or type(raw) is not bytes:
            return None
        known = self.known.get(raw)
        if known is None:
            return None
        envelope = known[0]
        h = envelope[0]
        if h[1] != self.team_id or h[2] is not compartment:
            return None
        author, epoch, counter = h[4], h[3], h[5]
        key = (author, epoch)
        allowed = self.writable.get(key)
        if allowed is None:
            allowed = bool(self.log.can_write(author, compartment, epoch))
            self.writable[key] = allowed
        if not allowed:
            return None
        last = chain_state._last
        chain_key = (h[1], compartment, author)
        held = last.get(chain_key)
        if held is None:
            if counter != 0:
                return None  # a gap: reported by the reference
        elif counter != held[0] + 1 or h[6] != held[1]:
            return None  # a replay, a gap or a fork: the reference raises or reports it
        aead = self.aeads.get(epoch)
        if aead is None:
            try:
                aead = self.keyring.aead(compartment, epoch)
            except Exception:  # MissingKeyError: raised by the reference
                return None
            self.aeads[epoch] = aead
        try:
            plaintext = aead.decrypt(h[7], envelope[1], envelope[3][:_HEADER_SIZE])
        except Exception:  # InvalidTag: the reference raises DecryptionError
            return None
        last[chain_key] = (counter, known[1])
        return _tuple_new(_Opened, (envelope, plaintext))
