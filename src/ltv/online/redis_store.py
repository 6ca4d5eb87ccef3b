"""Redis: `redis://host:port/db` (optionally `?prefix=name`, default `ltv`).

Keys, with p = the prefix and g = a generation number:
  p:current       the generation readers use (the pointer)
  p:seq           INCR counter that numbers new generations
  p:g:meta        StoreMeta JSON of generation g
  p:g:features    hash customer_id -> feature row (see `codec`); p:g:history, p:g:products alike
A lookup is one round trip: MULTI { GET p:current; HMGET p:<cached g>:features ids } EXEC; if
the pointer moved since the generation was cached, it is repeated once with the new one.
A re-materialize fills a new generation's hashes, then moves the pointer in one SET and
UNLINKs the old generation (freed in the background), so readers never see a mix.
Conditional writes run as one Lua script, which Redis executes atomically.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ltv.online.base import (NAMESPACES, OnlineStore, OnlineStoreError, Replacement, StoreMeta)

WRITE_IF = """
local g = redis.call('GET', KEYS[1])
if (not g) or g ~= ARGV[2] then return -1 end
local p = ARGV[1] .. ':' .. g .. ':'
if ARGV[5] ~= '-' then
  local cur = redis.call('HGET', p .. ARGV[3], ARGV[4])
  if ARGV[5] == '0' then
    if cur then return 0 end
  elseif cur ~= ARGV[6] then
    return 0
  end
end
local i = 7
while i <= #ARGV do
  if ARGV[i + 1] == 's' then
    redis.call('HSET', p .. ARGV[i], ARGV[i + 2], ARGV[i + 3])
  else
    redis.call('HDEL', p .. ARGV[i], ARGV[i + 2])
  end
  i = i + 4
end
return 1
"""
BATCH = 2_000  # HSET fields per pipelined command while materializing


def _client(url: str):
    try:
        import redis
    except ImportError:  # pragma: no cover - redis is a dependency
        raise OnlineStoreError("the Redis online store needs the redis package",
                               "pip install redis") from None
    parts = urlsplit(url)
    prefix = parse_qs(parts.query).get("prefix", ["ltv"])[0]
    plain = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    try:
        client = redis.Redis.from_url(plain, socket_timeout=30, socket_connect_timeout=5,
                                      health_check_interval=30)
        client.ping()
    except (redis.RedisError, ValueError) as err:
        raise OnlineStoreError(
            f"cannot reach the Redis online store {url}: {err}",
            "start redis-server (e.g. `redis-server --port 6379`) or fix host, port and db "
            "in the URL (redis://host:port/db)") from None
    return client, prefix


class RedisStore(OnlineStore):
    def __init__(self, url: str):
        super().__init__(url)
        import redis

        self._redis_error = redis.RedisError
        self.client, self.prefix = _client(url)
        self._script = self.client.register_script(WRITE_IF)
        self._generation: int | None = None  # last seen pointer, to address hashes
        self._lock = threading.Lock()

    def _key(self, generation: int, what: str) -> str:
        return f"{self.prefix}:{generation}:{what}"

    @property
    def _pointer(self) -> str:
        return f"{self.prefix}:current"

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except self._redis_error as err:
            raise OnlineStoreError(f"the Redis online store {self.url} failed: {err}",
                                   "check that redis-server is running and reachable") from None

    def _current(self) -> int | None:
        raw = self._call(self.client.get, self._pointer)
        return None if raw is None else int(raw)

    # -- reading ---------------------------------------------------------------------------

    def _read(self, command, *args):
        """(generation, command's result on that generation's keys), one round trip when the
        cached generation is still current."""
        for _ in range(3):
            generation = self._generation
            if generation is None:
                generation = self._generation = self._current()
                if generation is None:
                    return None, None
            pipe = self.client.pipeline(transaction=True)
            pipe.get(self._pointer)
            command(pipe, generation, *args)
            current, *results = self._call(pipe.execute)
            result = results[0] if len(results) == 1 else results
            current = None if current is None else int(current)
            if current == generation:
                return generation, result
            self._generation = current
            if current is None:
                return None, None
        raise OnlineStoreError(f"the Redis online store {self.url} kept changing generation",
                               "retry once `ltv materialize` has finished")

    def _get(self, ns: str, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        _, values = self._read(lambda pipe, g: pipe.hmget(self._key(g, ns), keys))
        return values if values is not None else [None] * len(keys)

    def _get_with_meta(self, ns, keys):
        _, got = self._read(lambda pipe, g: (pipe.hmget(self._key(g, ns), keys),
                                             pipe.get(self._key(g, "meta"))))
        return (got if got is not None else ([None] * len(keys), None))

    def _count(self, ns: str) -> int:
        _, n = self._read(lambda pipe, g: pipe.hlen(self._key(g, ns)))
        return n or 0

    def _read_meta(self) -> bytes | None:
        _, raw = self._read(lambda pipe, g: pipe.get(self._key(g, "meta")))
        return raw

    # -- writing ---------------------------------------------------------------------------

    def _begin_replace(self, meta: StoreMeta) -> Replacement:
        generation = self._call(self.client.incr, f"{self.prefix}:seq")
        return _RedisReplacement(self, meta, int(generation))

    def _write_if(self, generation, check, writes) -> bool:
        args = [self.prefix, str(generation)]
        if check is None:
            args += ["", "", "-", ""]
        else:
            ns, key, expected = check
            args += [ns, key, "0", ""] if expected is None else [ns, key, "1", expected]
        for ns, items in writes.items():
            for key, value in items.items():
                args += [ns, "d", key, ""] if value is None else [ns, "s", key, value]
        done = self._call(self._script, [self._pointer], args)
        if done == -1:
            self._generation = None
        return done == 1

    def _drop(self, generation: int) -> None:
        keys = [self._key(generation, ns) for ns in NAMESPACES] + [self._key(generation, "meta")]
        self._call(self.client.unlink, *keys)

    def close(self) -> None:
        try:
            self.client.close()
        except self._redis_error:
            pass


class _RedisReplacement(Replacement):
    def _write(self, ns: str, items: dict[str, bytes]) -> None:
        key = self.store._key(self.generation, ns)
        pipe = self.store.client.pipeline(transaction=False)
        pairs = list(items.items())
        for i in range(0, len(pairs), BATCH):
            pipe.hset(key, mapping=dict(pairs[i:i + BATCH]))
        self.store._call(pipe.execute)

    def _commit(self, meta: StoreMeta) -> None:
        store = self.store
        store._call(store.client.set, store._key(self.generation, "meta"), meta.to_json())
        old = store._call(lambda: store.client.set(store._pointer, str(self.generation), get=True))
        store._generation = self.generation
        if old is not None and int(old) != self.generation:
            store._drop(int(old))

    def abort(self) -> None:
        self.store._drop(self.generation)
