# A delivery's updates merged by pycrdt in one call (issue 24): included by _yreader_c.pyx.
# ``combine`` finds, from an index of a delivery's updates, the longest run that one update
# can carry exactly: each update's dependencies satisfied by the document's state vector as
# the ones before it advance it (the check the one-by-one merge makes: nothing that merge
# would park is taken), each of at most one client whose structs continue that client's clock
# exactly, with a delete set that re-encodes to its own bytes. The run is written as one v1
# update: per client, the structs of its updates one after the other (a struct's encoding
# does not depend on where it sits: its clock follows from the section's first clock and the
# lengths before it), then the union of the delete sets, sorted and merged by client. The
# caller (DocumentCore.apply_remote_groups) falls back to merging one update at a time for
# anything not taken, and for a run pycrdt refuses (a refused update changes nothing).

cdef void _put_varuint(bytearray out, uint64_t n):
    while n > 0x7F:
        out.append(<unsigned char>(0x80 | (n & 0x7F)))
        n >>= 7
    out.append(<unsigned char>n)


cdef bytes _delete_set_bytes(list deletes):
    """The v1 encoding of a delete set listed as (client, clock, length), clients in the
    order listed, each client's ranges as listed (what a reader decoded from those bytes)."""
    cdef bytearray out = bytearray()
    cdef list clients = []
    cdef dict ranges = {}
    for client, clock, length in deletes:
        if client not in ranges:
            clients.append(client)
            ranges[client] = []
        (<list>ranges[client]).append((clock, length))
    _put_varuint(out, len(clients))
    for client in clients:
        _put_varuint(out, client)
        _put_varuint(out, len(<list>ranges[client]))
        for clock, length in <list>ranges[client]:
            _put_varuint(out, clock)
            _put_varuint(out, length)
    return bytes(out)


cdef bint _satisfied(object deps, dict state):
    """``UpdateDeps.satisfied_by(state)``."""
    cdef dict ends = deps.ends
    for client, start in (<dict>deps.starts).items():
        if start > state.get(client, 0):
            return False
    for client, end in (<dict>deps.needs).items():
        if end > max(state.get(client, 0), ends.get(client, 0)):
            return False
    holes = deps.holes
    if holes is not None:
        for client, end in (<dict>holes).items():
            if end > state.get(client, 0):
                return False
    return True


def combine(list updates, Py_ssize_t at, dict state, dict scope, read, Py_ssize_t max_update):
    """(one update carrying ``updates[at:end]``, ``end``), ``state`` advanced over them as the
    one-by-one merge advances it; ``end`` is ``at`` when not even the first can be taken.
    ``scope``: parses by update identity (``ydeps.parse_scope``), else ``read(update)``
    (``ydeps._read_memo``: the parse, or MalformedUpdateError, which ends the run: the
    one-by-one merge refuses that update). Updates above ``max_update`` bytes (states) are
    not taken."""
    cdef Py_ssize_t i = at, n = len(updates), pos, size
    cdef const unsigned char[::1] d
    cdef int64_t n_clients, n_structs, client, clock
    cdef dict sections = {}  # client -> [first clock, structs, [bodies]]
    cdef list order = []
    cdef dict removed = {}   # client -> [(clock, length)]
    cdef list section
    while i < n:
        update = updates[i]
        if type(update) is not bytes or len(<bytes>update) > max_update:
            break
        seen = scope.get(id(update)) if scope is not None else None
        if seen is not None and seen[0] is update:
            parsed = seen[1]
        else:
            try:
                parsed = read(update)
            except Exception:  # MalformedUpdateError: refused by the one-by-one merge
                break
        deps = parsed[0]
        if len(<dict>deps.starts) > 1 or not _satisfied(deps, state):
            break
        d = <bytes>update
        size = d.shape[0]
        pos = 0
        client = clock = n_structs = 0
        try:  # (read whole already: these cannot end early)
            n_clients = _vu(d, &pos)
            if n_clients == 1:
                n_structs = _vu(d, &pos)
                client = _vu(d, &pos)
                clock = _vu(d, &pos)
        except MalformedUpdateError:
            break
        if n_clients > 1:
            break
        if n_clients == 1 and (n_structs == 0 or clock != state.get(client, 0)):
            break  # overlaps what the document holds (or holds nothing): one by one
        deletes = parsed[2]
        tail = _delete_set_bytes(deletes) if deletes else b"\x00"
        if not (<bytes>update).endswith(tail) or size - len(tail) < pos:
            break
        if n_clients == 1:
            section = sections.get(client)
            if section is None:
                section = sections[client] = [clock, 0, []]
                order.append(client)
            section[1] += n_structs
            (<list>section[2]).append((<bytes>update)[pos:size - len(tail)])
        for del_client, del_clock, del_length in deletes:
            removed.setdefault(del_client, []).append((del_clock, del_length))
        for end_client, end in (<dict>deps.ends).items():
            if end > state.get(end_client, 0):
                state[end_client] = end
        i += 1
    if i - at < 2:
        return (updates[at] if i > at else None), i
    out = bytearray()
    _put_varuint(out, len(order))
    for client in order:
        section = sections[client]
        _put_varuint(out, section[1])
        _put_varuint(out, client)
        _put_varuint(out, section[0])
        for body in <list>section[2]:
            out += <bytes>body
    _put_varuint(out, len(removed))
    for del_client, spans in removed.items():
        merged = []
        for del_clock, del_length in sorted(spans):
            if merged and del_clock <= merged[-1][0] + merged[-1][1]:
                merged[-1] = (merged[-1][0],
                              max(merged[-1][1], del_clock + del_length - merged[-1][0]))
            else:
                merged.append((del_clock, del_length))
        _put_varuint(out, del_client)
        _put_varuint(out, len(merged))
        for del_clock, del_length in merged:
            _put_varuint(out, del_clock)
            _put_varuint(out, del_length)
    return bytes(out), i
