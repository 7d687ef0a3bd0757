"""LocalStore: one device's encrypted, durable store of documents, records and the sync outbox.

Everything in the file is encrypted except the format name, the KDF parameters, the salt and the
wrapped data key (meta table). Every write method returns once its SQLite transaction has
committed (WAL, synchronous=FULL). See mano_core/store/README.md for the file layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Self

from mano_core import heap
from mano_core.errors import (
    StoreClosedError,
    StoreCorruptedError,
    StoreError,
    StoreExistsError,
    StoreMissingError,
    WrongPassphraseError,
)
from mano_core.loop_turns import retrieved

from .crypto import FORMAT, RowCipher, new_data_key, unwrap_data_key, wrap_data_key
from .database import Database
from .files import _OPEN_PATHS, _check_passphrase, _claim, _fsync_dir
from .in_thread import Op
from .kdf import DEFAULT_KDF, SALT_BYTES, KdfParams, derive_kek
from .outbox_index import OutboxIndex
from .reading import StoreReader
from .rows import DocHead
from .transaction import StoreState, StoreTransaction
from .types import LoadedDocument, OutboxItem

class LocalStore:
    """An open store. Get one with ``create`` or ``open``; use it as an async context manager
    (or call ``close``). Methods raise StoreClosedError after close, StoreFullError when the disk
    is full (nothing written), StoreCorruptedError when a row fails authentication."""

    def __init__(self, path: str, real_path: str, db: Database, state: StoreState,
                 kdf: KdfParams, salt: bytes, wrapped_key: bytes) -> None:
        """Private: use ``LocalStore.create`` or ``LocalStore.open``."""
        self._path = path
        self._real_path = real_path
        self._db = db
        self._state = state
        self._reader = StoreReader(db, state)
        self._kdf = kdf
        self._salt = salt
        self._wrapped_key = wrapped_key
        self._write_lock = asyncio.Lock()
        self._passphrase_lock = asyncio.Lock()
        self._writer: asyncio.Task[object] | None = None
        self._closed = False
        self._entered = False
        self._on_close: list[Callable[[], None]] = []

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    async def create(cls, path: str | os.PathLike[str], passphrase: str, *,
                     kdf: KdfParams = DEFAULT_KDF) -> LocalStore:
        """Create a new, empty store file (mode 0600) and return it open.

        Raises StoreExistsError if anything exists at ``path``; ValidationError if the passphrase
        is shorter than limits.MIN_PASSPHRASE_LENGTH."""
        path = os.fspath(path)
        _check_passphrase(passphrase)
        if os.path.lexists(path):
            raise StoreExistsError(f"{path}: a file already exists there")
        salt, data_key = os.urandom(SALT_BYTES), new_data_key()
        kek = await asyncio.to_thread(derive_kek, passphrase, salt, kdf)
        wrapped = wrap_data_key(kek, data_key, kdf.encode(), salt)
        real = _claim(path)
        try:
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                raise StoreExistsError(f"{path}: a file already exists there") from None
            except OSError as exc:
                raise StoreError(f"{path}: cannot create the store ({exc.strerror})") from None
            try:
                db = await Database.connect(path, create=True)
                try:
                    await db.initialise({"format": FORMAT, "kdf": kdf.encode(), "salt": salt,
                                         "wrapped_key": wrapped})
                except BaseException:
                    await db.close()
                    raise
            except BaseException:
                for leftover in (path, path + "-wal", path + "-shm"):
                    with contextlib.suppress(OSError):
                        os.remove(leftover)
                raise
            _fsync_dir(path)
        except BaseException:
            _OPEN_PATHS.discard(real)
            raise
        state = StoreState(RowCipher(data_key), {}, next_doc_id=1, next_outbox_id=1)
        return cls(path, real, db, state, kdf, salt, wrapped)

    @classmethod
    async def open(cls, path: str | os.PathLike[str], passphrase: str) -> LocalStore:
        """Unlock an existing store. The KDF runs in a thread.

        Raises StoreMissingError (no file), StoreCorruptedError (not a Mano store, or a damaged
        one), WrongPassphraseError (nothing is changed), StoreError (already open)."""
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise StoreMissingError(f"{path}: no store there")
        real = _claim(path)
        try:
            db = await Database.connect(path, create=False)
            try:
                return await cls._unlock(path, real, db, passphrase)
            except BaseException:
                await db.close()
                raise
        except BaseException:
            _OPEN_PATHS.discard(real)
            raise

    @classmethod
    async def _unlock(cls, path: str, real: str, db: Database, passphrase: str) -> LocalStore:
        try:
            meta = {bytes(name).decode("utf-8", "replace"): bytes(value)
                    for name, value in await db.fetchall("SELECT name, value FROM meta")}
        except StoreError as exc:
            raise StoreCorruptedError(f"{path}: no readable meta table ({exc})") from None
        if meta.get("format") != FORMAT:
            raise StoreCorruptedError(f"{path}: unknown store format {meta.get('format')!r}")
        try:
            kdf_blob, salt, wrapped = meta["kdf"], meta["salt"], meta["wrapped_key"]
        except KeyError as exc:
            raise StoreCorruptedError(f"{path}: meta.{exc.args[0]} is missing") from None
        kdf = KdfParams.decode(kdf_blob)
        kek = await asyncio.to_thread(derive_kek, passphrase, salt, kdf)
        cipher = RowCipher(unwrap_data_key(kek, wrapped, kdf_blob, salt))
        docs: dict[str, DocHead] = {}
        for row_id, tag, name_ct, head_ct in await db.fetchall(
                "SELECT id, tag, name, head FROM docs"):
            head = DocHead.open_row(cipher, row_id, tag, name_ct, head_ct)
            docs[head.name] = head
        last_outbox = await db.fetchall(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),"
            " coalesce((SELECT max(id) FROM outbox), 0))")
        outbox = OutboxIndex((int(i), int(d)) for i, d in await db.fetchall(
            "SELECT id, doc_id FROM outbox"))
        state = StoreState(cipher, docs,
                           next_doc_id=max((h.id for h in docs.values()), default=0) + 1,
                           next_outbox_id=int(last_outbox[0][0]) + 1, outbox=outbox)
        return cls(path, real, db, state, kdf, salt, wrapped)

    async def close(self) -> None:
        """Wait for a transaction being committed, then close the file. Idempotent."""
        if self._closed:
            return
        if self._writer is not None and self._writer is asyncio.current_task():
            raise StoreError("close() inside a transaction of the same task")
        self._closed = True
        try:
            async with self._write_lock:
                await self._db.close()
        finally:
            _OPEN_PATHS.discard(self._real_path)
            for release in self._on_close:
                release()
            self._on_close.clear()
            heap.thaw()  # what was frozen while its team was open (mano_core/heap.py)

    def on_close(self, release: Callable[[], None]) -> None:
        """Call ``release`` when this store closes (a team's documents drop their pycrdt
        subscriptions then: mano_core.document.team_doc.DocumentCore.release)."""
        self._on_close.append(release)

    async def __aenter__(self) -> Self:
        self._check_open()
        if self._entered:
            raise StoreError("this store is already in use as a context manager")
        self._entered = True
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    @property
    def path(self) -> str:
        return self._path

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def kdf(self) -> KdfParams:
        """The KDF parameters protecting the passphrase."""
        return self._kdf

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{self._path}: the store is closed")

    # --- passphrase --------------------------------------------------------------------------

    async def check_passphrase(self, passphrase: str) -> bool:
        """Whether ``passphrase`` unlocks this store (e.g. to unlock a locked screen)."""
        self._check_open()
        kek = await asyncio.to_thread(derive_kek, passphrase, self._salt, self._kdf)
        try:
            unwrap_data_key(kek, self._wrapped_key, self._kdf.encode(), self._salt)
        except WrongPassphraseError:
            return False
        return True

    async def change_passphrase(self, old: str, new: str, *, kdf: KdfParams | None = None) -> None:
        """Re-wrap the data key under ``new`` (and a fresh salt; ``kdf`` to change the costs).

        No row is re-encrypted. Raises WrongPassphraseError if ``old`` is wrong (nothing
        changed), ValidationError if ``new`` is too short."""
        _check_passphrase(new)
        self._check_open()
        async with self._passphrase_lock:
            old_kek = await asyncio.to_thread(derive_kek, old, self._salt, self._kdf)
            data_key = unwrap_data_key(old_kek, self._wrapped_key, self._kdf.encode(), self._salt)
            params = kdf or self._kdf
            salt = os.urandom(SALT_BYTES)
            new_kek = await asyncio.to_thread(derive_kek, new, salt, params)
            wrapped = wrap_data_key(new_kek, data_key, params.encode(), salt)
            sql = "UPDATE meta SET value = ? WHERE name = ?"
            ops = [(sql, [(params.encode(), "kdf"), (salt, "salt"), (wrapped, "wrapped_key")])]

            def committed() -> None:
                self._kdf, self._salt, self._wrapped_key = params, salt, wrapped

            self._check_open()
            await self._db.write(ops, "changing the passphrase", on_commit=committed)

    # --- writes ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[StoreTransaction]:
        """``async with store.transaction() as tx:`` — tx's writes commit together, durably, when
        the block ends (nothing is written if it raises). Transactions are serialised; do not call
        the store's own write methods inside the block (StoreError). A caller cancelled while the
        commit runs gets CancelledError, but the commit still completes or fails as a whole."""
        self._check_open()
        task = asyncio.current_task()
        if self._writer is not None and self._writer is task:
            raise StoreError("a transaction is already open in this task")
        await self._write_lock.acquire()
        handed_off = False
        tx = StoreTransaction(self._state)
        tx.send_ahead = lambda ops: self._db.write_ahead(ops, "saving")
        try:
            self._check_open()
            self._writer = task
            yield tx
            commit = self._start_commit(tx)
            handed_off = True
            await commit
        finally:
            if not handed_off:
                tx.discard()
                try:
                    if tx.ahead is not None:  # rolled back (shielded: the connection is freed)
                        await asyncio.shield(self._db.abandon(tx.ahead))
                finally:
                    self._writer = None
                    self._write_lock.release()

    def _start_commit(self, tx: StoreTransaction) -> asyncio.Future[None]:
        """The commit of ``tx``, which also frees the store for the next transaction: if the
        caller is cancelled mid-commit, the commit and the in-memory bookkeeping still
        complete together (the future it awaits is not the commit's work). A plain batch is
        queued for the file's thread in this turn of the loop and its end reported straight
        from that thread's result (``Database.write_now``; issue 24: the Task it ran in cost
        a turn on the way in and, with its shields, four on the way back, on both devices of
        an edit → visible); one sent ahead, one that frees space (a reclaim follows), or one
        that meets a busy connection commits in a Task of its own."""
        if tx.ahead is None and not tx.frees_space:
            ops = tx.finish()  # (if it raises, nothing was handed off: the caller discards)
            if ops:
                def ended() -> None:
                    self._writer = None
                    self._write_lock.release()

                started = self._db.write_now(ops, "saving", tx.apply, ended)
                if started is not None:
                    return started
            commit = asyncio.ensure_future(self._commit(tx, ops))
        else:
            commit = asyncio.ensure_future(self._commit(tx))
        commit.add_done_callback(retrieved)
        return asyncio.shield(commit)

    async def _commit(self, tx: StoreTransaction, ops: list[Op] | None = None) -> None:
        try:
            if ops is None:
                try:
                    ops = tx.finish()
                except BaseException:
                    if tx.ahead is not None:
                        await self._db.abandon(tx.ahead)
                    raise
            if ops or tx.ahead is not None:
                await self._db.write(ops, "saving", on_commit=tx.apply, ahead=tx.ahead)
                if tx.frees_space:
                    await self._db.reclaim()
            else:
                tx.apply()  # nothing to write: its after_commit callbacks still run
        finally:
            self._writer = None
            self._write_lock.release()

    async def append_update(self, doc: str, update: bytes) -> int:
        """Store one update of ``doc``; return its local sequence number once committed."""
        async with self.transaction() as tx:
            seq = await tx.append_update(doc, update)
        return seq

    async def append_updates(self, doc: str, updates: Sequence[bytes]) -> list[int]:
        """Store several updates in one transaction; return their sequence numbers."""
        async with self.transaction() as tx:
            seqs = await tx.append_updates(doc, updates)
        return seqs

    async def write_snapshot(self, doc: str, state: bytes, upto_seq: int) -> None:
        """Atomically store ``state`` (a re-encoded pycrdt state covering updates ``<= upto_seq``)
        and delete those updates. Raises SnapshotRangeError (nothing written) if ``upto_seq`` is
        not between the current snapshot's seq and the last seq, LimitExceededError if ``state``
        is above MAX_STORE_SNAPSHOT_BYTES."""
        async with self.transaction() as tx:
            await tx.write_snapshot(doc, state, upto_seq)

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the file and truncate it (deleted rows are zeroed in
        the file by ``secure_delete``; this removes their copies from the -wal file)."""
        self._check_open()
        await self._db.checkpoint()

    async def delete_document(self, doc: str) -> None:
        """Delete a document: its updates, snapshot and outbox items (zeroed on disk)."""
        async with self.transaction() as tx:
            await tx.delete_document(doc)

    async def put(self, namespace: str, key: str, value: bytes) -> None:
        """Store ``value`` under (namespace, key), replacing any previous value."""
        async with self.transaction() as tx:
            await tx.put(namespace, key, value)

    async def delete(self, namespace: str, key: str) -> None:
        """Delete a record; deleting a missing record is not an error."""
        async with self.transaction() as tx:
            await tx.delete(namespace, key)

    async def outbox_add(self, doc: str, payload: bytes) -> int:
        """Queue a payload for the relay; return its id (ids increase and are never reused)."""
        async with self.transaction() as tx:
            item_id = await tx.outbox_add(doc, payload)
        return item_id

    async def outbox_remove(self, ids: Sequence[int]) -> None:
        """Remove acknowledged outbox items; unknown ids are ignored."""
        async with self.transaction() as tx:
            await tx.outbox_remove(ids)

    # --- reads (see reading.py) ---------------------------------------------------------------

    async def load_document(self, doc: str) -> LoadedDocument:
        """The document's snapshot and the updates after it (empty if unknown). Raises
        StoreCorruptedError if a row was altered, moved, swapped or removed."""
        self._check_open()
        return await self._reader.load_document(doc)

    async def updates_since_snapshot(self, doc: str) -> int:
        """How many updates a load would replay after the snapshot (compare with
        limits.COMPACT_AFTER_UPDATES to decide when to compact)."""
        self._check_open()
        return await self._reader.updates_since_snapshot(doc)

    async def list_documents(self) -> list[str]:
        """Names of the stored documents, sorted."""
        self._check_open()
        return await self._reader.list_documents()

    async def get(self, namespace: str, key: str) -> bytes | None:
        """The value under (namespace, key), or None."""
        self._check_open()
        return await self._reader.get(namespace, key)

    async def items(self, namespace: str) -> list[tuple[str, bytes]]:
        """Every (key, value) of a namespace, sorted by key."""
        self._check_open()
        return await self._reader.items(namespace)

    async def outbox_pending(self, doc: str | None = None, *,
                             limit: int | None = None) -> list[OutboxItem]:
        """Queued outbox items in queue order (of one document, or all), at most ``limit``."""
        self._check_open()
        return await self._reader.outbox_pending(doc, limit=limit)

    async def outbox_size(self, doc: str | None = None) -> int:
        """How many items wait in the outbox (of one document, or all)."""
        self._check_open()
        return await self._reader.outbox_size(doc)
