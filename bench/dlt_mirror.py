"""Mirror CloudRoom meetings into PostgreSQL with dlt: the peer confsync is
benchmarked against (see bench/compare_dlt.sh).

The pipeline is what a careful dlt user would write: dlt's REST client with a
signing auth and a paginator for CloudRoom's `current`/`size`/`remaining`
paging, three merge resources with primary keys, and the parallelism dlt's
performance guide recommends (parallelized resources and transformers, more
extract workers for I/O-bound work).

Usage (defaults come from the same CONFSYNC_* variables confsync reads):

    bench/.venv/bin/python bench/dlt_mirror.py \
        --base-url http://127.0.0.1:8089/CLOUDROOM-SERVER \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_dlt \
        --history-start 2023-01-01
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from typing import Any, Iterator, List, Optional
from urllib.parse import quote, urlsplit, urlunsplit

# Extraction here is I/O-bound (one HTTP round trip per recordings list), so
# more threads than dlt's default of 5 keep the simulator busy; the
# performance guide says to raise `workers` for such sources. Set before dlt
# reads its configuration; the caller's environment still wins.
os.environ.setdefault("EXTRACT__WORKERS", "16")
os.environ.setdefault("EXTRACT__MAX_PARALLEL_ITEMS", "64")
# Poll finished futures more often than the 10 ms default: each recordings
# list takes well under a millisecond on loopback.
os.environ.setdefault("EXTRACT__FUTURES_POLL_INTERVAL", "0.001")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

import dlt  # noqa: E402
from dlt.common.configuration import configspec  # noqa: E402
from dlt.common.typing import TSecretStrValue  # noqa: E402
from dlt.sources.helpers.rest_client import RESTClient  # noqa: E402
from dlt.sources.helpers.rest_client.auth import AuthConfigBase  # noqa: E402
from dlt.sources.helpers.rest_client.paginators import BasePaginator  # noqa: E402
from requests import PreparedRequest, Request, Response  # noqa: E402

PAGE_SIZE = 100
# The API refuses windows over one year (22236); confsync uses the same width.
WINDOW_SECONDS = 364 * 86_400


@configspec
class CloudRoomAuth(AuthConfigBase):
    """Signs every request the way CloudRoom's gateway checks it."""

    secret_id: str = None
    secret_key: TSecretStrValue = None

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        # Signed at send time, so each page (and each retry) carries a fresh
        # timestamp inside the gateway's five-minute window.
        timestamp = str(int(time.time()))
        signed = f"{self.secret_id}&{timestamp}&{self.secret_key}"
        request.headers["X-CR-SecretId"] = self.secret_id
        request.headers["X-CR-Timestamp"] = timestamp
        request.headers["X-CR-Signature"] = hashlib.sha256(signed.encode()).hexdigest()
        request.headers["X-CR-RequestId"] = str(uuid.uuid4())
        return request


class CurrentSizePaginator(BasePaginator):
    """CloudRoom's page-number paging.

    Stops on `remaining == 0`, and also once `current * size` reaches
    `total`: past the last page the server silently answers page 1 again,
    so a paginator trusting only the page number would loop for ever.
    """

    def __init__(self, size: int = PAGE_SIZE) -> None:
        super().__init__()
        self.size = size
        self.current = 1

    def init_request(self, request: Request) -> None:
        request.params = dict(request.params or {}, current=self.current, size=self.size)

    def update_state(self, response: Response, data: Optional[List[Any]] = None) -> None:
        body = response.json()
        total = int(body.get("total") or 0)
        if body.get("remaining") == 0 or self.current * self.size >= total:
            self._has_next_page = False
        else:
            self.current += 1

    def update_request(self, request: Request) -> None:
        request.params["current"] = self.current


def history_windows(start: int, until: int) -> Iterator[dict]:
    """Consecutive windows of at most 364 days, both bounds inclusive as the API reads them."""
    window = start
    while window <= until:
        end = min(window + WINDOW_SECONDS - 1, until)
        yield {"startTime": window, "endTime": end}
        window = end + 1


@dlt.source(name="cloudroom", max_table_nesting=0)
def cloudroom(
    base_url: str,
    secret_id: str,
    secret_key: str,
    history_start: int,
    history_until: int,
):
    auth = CloudRoomAuth(secret_id=secret_id, secret_key=secret_key)
    local = threading.local()

    def client() -> RESTClient:
        # One client (and connection pool) per extract thread: a requests
        # Session is not documented as thread-safe.
        if not hasattr(local, "client"):
            local.client = RESTClient(
                base_url=f"{base_url.rstrip('/')}/v2",
                auth=auth,
                paginator=CurrentSizePaginator(),
                data_selector="records",
            )
        return local.client

    @dlt.resource(
        name="conferences",
        primary_key="conf_id",
        write_disposition="merge",
        parallelized=True,
    )
    def conferences() -> Iterator[List[dict]]:
        yield from client().paginate("/conference/list")

    @dlt.resource(name="history_windows", selected=False)
    def windows() -> Iterator[dict]:
        yield from history_windows(history_start, history_until)

    @dlt.transformer(
        data_from=windows,
        name="meeting_history",
        primary_key=("conf_id", "start_time"),
        write_disposition="merge",
        parallelized=True,
    )
    def meeting_history(window: dict) -> Iterator[List[dict]]:
        yield from client().paginate("/conference/history/list", params=window)

    seen: set = set()
    seen_lock = threading.Lock()

    @dlt.transformer(data_from=meeting_history, name="conf_ids", selected=False)
    def conf_ids(page: List[dict]) -> Iterator[int]:
        # A periodic meeting repeats its confId across the history, and the
        # recordings endpoint answers all its occurrences at once.
        # Also twice in one page, when its occurrences are days apart.
        with seen_lock:
            fresh = list(dict.fromkeys(r["confId"] for r in page if r["confId"] not in seen))
            seen.update(fresh)
        yield from fresh

    @dlt.transformer(
        data_from=conf_ids,
        name="recordings",
        primary_key="file_id",
        write_disposition="merge",
        parallelized=True,
    )
    def recordings(conf_id: int) -> List[dict]:
        return [r for page in client().paginate(f"/video/{conf_id}") for r in page]

    return conferences, meeting_history, recordings


def epoch_of_day(day: str) -> int:
    midnight = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    return int(midnight.timestamp())


def with_password(url: str) -> str:
    """dlt refuses PostgreSQL credentials without a password, while a local
    server under `trust` (or a ~/.pgpass) needs none: fill in $PGPASSWORD,
    or a placeholder the server ignores."""
    parts = urlsplit(url)
    if parts.password is not None or parts.username is None:
        return url
    password = quote(os.environ.get("PGPASSWORD", "unused"), safe="")
    netloc = f"{parts.username}:{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def parse_args(argv: List[str]) -> argparse.Namespace:
    env = os.environ.get
    default_start = (dt.date.today() - dt.timedelta(days=3 * 366 + 7)).isoformat()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", default=env("CONFSYNC_CLOUDROOM__BASE_URL"))
    p.add_argument("--secret-id", default=env("CONFSYNC_CLOUDROOM__SECRET_ID"))
    # The key is read from the environment only, so it never shows in `ps`.
    p.add_argument(
        "--database-url",
        default=env("DLT_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_dlt"),
    )
    p.add_argument(
        "--history-start",
        default=env("CONFSYNC_CLOUDROOM__HISTORY_START", default_start),
        help="first day of the history walk, YYYY-MM-DD (UTC)",
    )
    p.add_argument("--pipelines-dir", default=None, help="dlt's working folder (state, load packages)")
    p.add_argument(
        "--loader-file-format",
        default=env("DLT_LOADER_FILE_FORMAT", "csv"),
        choices=["insert_values", "csv"],
        help="csv loads with COPY, the faster of the two on PostgreSQL",
    )
    args = p.parse_args(argv)
    args.secret_key = env("CONFSYNC_CLOUDROOM__SECRET_KEY")
    missing = [n for n in ("base_url", "secret_id", "secret_key") if not getattr(args, n)]
    if missing:
        p.error(f"missing {', '.join(missing)} (flags or CONFSYNC_CLOUDROOM__* variables)")
    return args


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    pipeline = dlt.pipeline(
        pipeline_name="cloudroom_mirror",
        pipelines_dir=args.pipelines_dir,
        destination=dlt.destinations.postgres(credentials=with_password(args.database_url)),
        dataset_name="cloudroom",
        progress="log" if os.environ.get("DLT_PROGRESS") else None,
    )
    source = cloudroom(
        base_url=args.base_url,
        secret_id=args.secret_id,
        secret_key=args.secret_key,
        history_start=epoch_of_day(args.history_start),
        history_until=int(time.time()),
    )
    started = time.monotonic()
    info = pipeline.run(source, loader_file_format=args.loader_file_format)
    info.raise_on_failed_jobs()
    steps = {
        step.step: round((step.finished_at - step.started_at).total_seconds(), 3)
        for step in pipeline.last_trace.steps
    }
    summary = {
        "seconds": round(time.monotonic() - started, 3),
        "steps": steps,
        "loader_file_format": args.loader_file_format,
        "extract_workers": int(os.environ["EXTRACT__WORKERS"]),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
