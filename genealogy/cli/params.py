"""The command line's options, parsed into one frozen, typed object per group.

Each `*_arguments` decorator adds a group of click options to a command and hands the
command one object instead of the loose values (`crawl: CrawlArgs`, `view: ViewArgs`...), so
mypy checks every use. Nothing heavy is imported here: `--help` must stay instant.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import click

from genealogy.config import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_UNITS,
    default_cache_path,
)
from genealogy.nodes import OUTCOME_FILTERS
from genealogy.text import printable

if TYPE_CHECKING:
    from genealogy.runner import CrawlOptions

log = logging.getLogger("genealogy")

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

# -- value types ----------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class DurationType(click.ParamType):  # type: ignore[type-arg]
    """`90`, `90s`, `15m`, `2h` or `7d`, in seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
        match = _DURATION.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a duration like 90s, 15m, 2h or 7d", param, ctx)
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class FiniteFloat(click.FloatRange):
    """A float in a range; `nan` and `inf`, which `float()` accepts, are refused."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def _base_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An http(s) URL with a host and no credentials; a warning when the key would travel
    unencrypted."""
    try:
        url = urlsplit(value)
        port = url.port  # raises on a port that is not a number or out of range
    except ValueError as error:
        raise click.BadParameter(f"{printable(value)!r} is not a URL: {error}") from error
    if url.scheme not in ("http", "https") or not url.hostname:
        raise click.BadParameter(
            f"{printable(value)!r} is not an http(s) URL like {DEFAULT_BASE_URL}"
        )
    if url.username is not None or url.password is not None:
        raise click.BadParameter(
            "credentials in the base URL are refused: the API takes the key as a Bearer "
            f"token, from {API_KEY_ENV} or --api-key"
        )
    del port
    if url.scheme == "http" and url.hostname not in ("127.0.0.1", "localhost", "::1"):
        log.warning("--base-url uses plain http: the API key would cross the network unencrypted")
    return value


def _split(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


def _outcomes(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    outcomes = tuple(item.lower() for item in _split(ctx, param, values))
    unknown = [item for item in outcomes if item not in OUTCOME_FILTERS]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(map(repr, unknown))}: choose from {', '.join(OUTCOME_FILTERS)}"
        )
    return outcomes


# -- grouping options into one typed object ---------------------------------------------------


def grouped(name: str, build: Callable[..., Any], options: Sequence[Decorator]) -> Decorator:
    """Add `options` to a command, and pass their values as one keyword `name`, built by
    `build(**values)`, instead of one keyword each."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kwargs: Any) -> Any:
            values = {key: kwargs.pop(key) for key in names}
            kwargs[name] = build(**values)
            return command(**kwargs)

        wrapper.__name__, wrapper.__doc__ = command.__name__, command.__doc__
        before = list(getattr(command, "__click_params__", []))
        wrapper.__click_params__ = list(before)  # type: ignore[attr-defined]
        decorated: Callable[..., Any] = wrapper
        for option in reversed(options):
            decorated = option(decorated)
        added = decorated.__click_params__[len(before) :]  # type: ignore[attr-defined]
        names = [param.name for param in added]
        return decorated

    return decorate


@dataclass(frozen=True)
class Connection:
    base_url: str
    api_key: str | None = field(repr=False)
    concurrency: int
    retries: int
    timeout: float
    rate: float | None
    deadline: float | None
    via: Literal["auto", "list", "get"]
    history: bool


@dataclass(frozen=True)
class Shape:
    direction: Literal["both", "up", "down"]
    max_depth: int | None
    max_units: int | None


@dataclass(frozen=True)
class Caching:
    path: Path | None  # None: no cache
    max_age: float
    refresh: bool
    offline: bool


@dataclass(frozen=True)
class Reporting:
    strict: bool
    quiet: bool
    verbose: int
    debug: bool


@dataclass(frozen=True)
class CrawlArgs:
    """Everything a crawling command was told about the crawl."""

    serial: str
    connection: Connection
    shape: Shape
    caching: Caching
    reporting: Reporting

    def options(self) -> CrawlOptions:
        from genealogy.crawler import Direction, Limits
        from genealogy.runner import CrawlOptions

        return CrawlOptions(
            base_url=self.connection.base_url,
            api_key=self.connection.api_key,
            direction=Direction(self.shape.direction),
            limits=Limits(self.shape.max_depth, self.shape.max_units),
            concurrency=self.connection.concurrency,
            retries=self.connection.retries,
            timeout=self.connection.timeout,
            rate=self.connection.rate,
            deadline=self.connection.deadline,
            via=self.connection.via,
            history=self.connection.history,
            cache_path=self.caching.path,
            max_age=self.caching.max_age,
            refresh=self.caching.refresh,
            offline=self.caching.offline,
        )


CONNECTION_OPTIONS: tuple[Decorator, ...] = (
    click.option(
        "--base-url",
        envvar=BASE_URL_ENV,
        default=DEFAULT_BASE_URL,
        show_default=True,
        show_envvar=True,
        callback=_base_url,
        help="TofuPilot API base URL.",
    ),
    click.option(
        "--api-key",
        envvar=API_KEY_ENV,
        show_envvar=True,
        help="TofuPilot API key (prefer the environment variable: "
        "command lines are visible to other users).",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(1, 256),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Requests in flight at once.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(0, 20),
        default=4,
        show_default=True,
        help="Retries per request after 5xx, timeouts and network errors.",
    ),
    click.option(
        "--timeout",
        type=FiniteFloat(min=0.1),
        default=30.0,
        show_default=True,
        help="Seconds one request may take.",
    ),
)
"""Where and how to ask the API: shared by every command that asks it."""


def make_crawl_args(**values: Any) -> CrawlArgs:
    if values["offline"] and values["no_cache"]:
        raise click.UsageError("--offline reads the cache, so it cannot go with --no-cache.")
    if values["offline"] and values["refresh"]:
        raise click.UsageError("--refresh fetches again, so it cannot go with --offline.")
    if values["up"] and values["down"]:
        raise click.UsageError("--up and --down exclude each other; give neither for both.")
    key = values["api_key"]
    return CrawlArgs(
        serial=values["serial"],
        connection=Connection(
            base_url=values["base_url"],
            api_key=key.strip() if key else None,
            concurrency=values["concurrency"],
            retries=values["retries"],
            timeout=values["timeout"],
            rate=values["rate"],
            deadline=values["deadline"],
            via=values["via"],
            history=not values["no_history"],
        ),
        shape=Shape(
            direction="up" if values["up"] else "down" if values["down"] else "both",
            max_depth=values["max_depth"],
            max_units=values["max_units"] or None,
        ),
        caching=Caching(
            path=None if values["no_cache"] else values["cache_path"] or default_cache_path(),
            max_age=values["max_age"],
            refresh=values["refresh"],
            offline=values["offline"],
        ),
        reporting=Reporting(
            strict=values["strict"],
            quiet=values["quiet"],
            verbose=values["verbose"],
            debug=values["debug"],
        ),
    )


class _CacheFileOption(click.Option):
    """`--cache`, whose help names the default file: found (platformdirs, 10 ms of start-up)
    only when the help is shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None:
            return None
        names, text = record
        return names, f"{text}  [default: {default_cache_path()}]"


CRAWL_OPTIONS: tuple[Decorator, ...] = (
    click.option(
        "--max-depth",
        type=click.IntRange(min=0),
        help="Do not fetch units more than N links away from SERIAL.",
    ),
    click.option(
        "--max-units",
        type=click.IntRange(min=0),
        default=DEFAULT_MAX_UNITS,
        show_default=True,
        help="Fetch at most N units; the rest are kept as unexplored (0: no limit).",
    ),
    click.option(
        "--rate",
        type=FiniteFloat(min=0.01),
        help="At most N requests per second (stay under your account's quota).",
    ),
    click.option(
        "--via",
        type=click.Choice(["auto", "list", "get"]),
        default="auto",
        show_default=True,
        envvar="GENEALOGY_VIA",
        show_envvar=True,
        help="auto: whole levels of the assembly per request through the list endpoint "
        "(one request per unit if the server has none); get: one request per unit, "
        "which alone gives each unit's creating run.",
    ),
    click.option(
        "--no-history",
        is_flag=True,
        envvar="GENEALOGY_NO_HISTORY",
        show_envvar=True,
        help="Do not fetch the units' run histories (GET /v2/runs): colours, filters and "
        "findings then use the latest run the list gives, or the creating run.",
    ),
    click.option(
        "--deadline",
        type=DurationType(),
        help="Stop the crawl after this long (90s, 10m, 1h): no new request starts, "
        "requests in flight are cut, units not fetched by then are errors (exit code 3).",
    ),
    click.option(
        "--cache",
        "cache_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="SQLite cache file",
        cls=_CacheFileOption,
    ),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
    click.option(
        "--max-age",
        type=DurationType(),
        default="1h",
        show_default=True,
        help="Use cached units younger than this (90s, 15m, 2h, 7d).",
    ),
    click.option("--refresh", is_flag=True, help="Fetch every unit again; update the cache."),
    click.option(
        "--offline",
        is_flag=True,
        help="Use the cache alone, whatever its age; make no request.",
    ),
    click.option(
        "--strict",
        is_flag=True,
        help="Count units that were not found as failures (exit code 3).",
    ),
    click.option(
        "-q", "--quiet", is_flag=True, help="No progress line; a summary line only on failure."
    ),
    click.option(
        "-v",
        "--verbose",
        count=True,
        help="More on stderr: every unit not fetched, the "
        "summary, each retry (-vv: each request).",
    ),
    click.option(
        "--debug", is_flag=True, help="Like -vv, and show the traceback of an internal error."
    ),
)
"""How far to crawl, the cache and the reporting: every crawling command's, after the
connection options and the direction (`trace` has its own direction flags)."""

crawl_arguments = grouped(
    "crawl",
    make_crawl_args,
    [
        click.argument("serial"),
        *CONNECTION_OPTIONS,
        click.option("--up", is_flag=True, help="Only the ancestors: what contains SERIAL."),
        click.option("--down", is_flag=True, help="Only the descendants: what SERIAL is made of."),
        *CRAWL_OPTIONS,
    ],
)


@dataclass(frozen=True)
class ViewArgs:
    """Filters: the matching units and the assemblies above them."""

    outcomes: tuple[str, ...]
    parts: tuple[str, ...]

    @property
    def active(self) -> bool:
        return bool(self.outcomes or self.parts)

    @property
    def modules(self) -> tuple[str, ...]:
        """What filtering needs imported (ahead, while the crawl runs)."""
        return ("genealogy.queries",) if self.active else ()

    def described(self) -> str:
        given = [("--outcome", self.outcomes), ("--part", self.parts)]
        return " ".join(f"{flag} {','.join(values)}" for flag, values in given if values)


view_arguments = grouped(
    "view",
    ViewArgs,
    [
        click.option(
            "--outcome",
            "outcomes",
            multiple=True,
            callback=_outcomes,
            help="Only units with this outcome (their latest, when the run history is known), "
            "and the assemblies above them: pass, fail, error, timeout, aborted, unknown, "
            "not_found, unexplored, not_fetched, in any case. Repeat or comma-separate: any of "
            "them (OR). With --part: units matching both (AND). Nothing matched: said on stderr.",
        ),
        click.option(
            "--part",
            "parts",
            multiple=True,
            callback=_split,
            help="Only units of this part number, in any case, and the assemblies above them. "
            "Repeat or comma-separate: any of them (OR). With --outcome: units matching both "
            "(AND).",
        ),
    ],
)


@dataclass(frozen=True)
class TreeArgs:
    charset: Literal["unicode", "ascii"]
    depth: int | None
    color: Literal["auto", "always", "never"]


def _tree_args(charset: str, depth: int | None, color: str) -> TreeArgs:
    return TreeArgs(
        "ascii" if charset == "ascii" else "unicode",
        depth,
        "always" if color == "always" else "never" if color == "never" else "auto",
    )


tree_arguments = grouped(
    "tree",
    _tree_args,
    [
        click.option(
            "--charset",
            type=click.Choice(["unicode", "ascii"]),
            default="unicode",
            show_default=True,
            help="Tree drawing characters.",
        ),
        click.option(
            "--depth",
            type=click.IntRange(min=0),
            help="Show at most N levels below the top-level assemblies (0: only them), in "
            "every format.",
        ),
        click.option(
            "--color",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour by outcome; auto: on a terminal, unless NO_COLOR is set.",
        ),
    ],
)

@dataclass(frozen=True)
class DiagramArgs:
    """How a diagram (DOT, SVG, PNG, PDF, Mermaid) is drawn; data formats ignore these."""

    group: bool
    force: bool


diagram_arguments = grouped(
    "diagram",
    lambda no_group, force: DiagramArgs(group=not no_group, force=force),
    [
        click.option(
            "--no-group",
            is_flag=True,
            help="Diagrams: draw every unit. By default, in assemblies of more than 100 units, "
            "3 or more identical sibling leaves (same part, revision and outcome; not failed, "
            "errored, missing or the start unit) are one box: '×444 CELL-18650 rev B PASS'.",
        ),
        click.option(
            "--force",
            is_flag=True,
            help="Diagrams: write it even when its text would be unreadable, or a Mermaid "
            "source is over Mermaid's 50,000 characters (otherwise exit code 13).",
        ),
    ],
)

output_option = click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    help="Output file ('-' is stdout).",
)
report_format_option = click.option(
    "-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
