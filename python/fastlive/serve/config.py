"""``ServeConfig``: everything ``fastlive serve`` can be told (a frozen dataclass; the CLI's
flags map onto it)."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

from fastlive.serve.challenges import KINDS

SECRET_ENV = "FASTLIVE_SERVE_SECRET"


def _default_detector() -> Any:
    from fastlive import Config

    # A verdict stands for a stream: LIVE needs a blink within Config.blink_recent_s too.
    return Config(require_blink=True)


@dataclass(frozen=True)
class ServeConfig:
    """Settings of the liveness service (see docs/serve.md for each).

    Tokens: ``secret`` signs the verdict tokens (at least 32 bytes; default: the
    ``FASTLIVE_SERVE_SECRET`` environment variable, else a random secret for this process,
    which only tokens checked inside this process can use); ``token_ttl_s`` is their lifetime.

    Session flow: ``challenges`` turns the active prompts on; ``challenge_kinds`` /
    ``challenge_count`` / ``challenge_window_s`` / ``turn_deg`` / ``closer_ratio`` tune them;
    ``align_hold_s`` is how long the face must be placed before the flow starts;
    ``verify_live_frames`` LIVE frames in a row give the LIVE verdict, ``verify_spoof_frames``
    SPOOF frames in a row the SPOOF verdict, ``verify_window_s`` bounds that last phase;
    ``min_face_frac`` / ``max_face_frac`` (face box height over frame height),
    ``center_tol`` (face centre off the frame centre, share of the frame) and
    ``straight_deg`` (yaw and pitch) place the face; ``max_face_gap_s``: the followed face may
    leave the frame this long.

    Limits (per worker process): ``max_session_s``, ``idle_timeout_s``, ``max_fps``,
    ``max_message_bytes``, ``max_frame_side`` / ``min_frame_side`` (pixels of a session frame),
    ``max_upload_bytes`` / ``max_image_side`` (``POST /v1/score``), ``max_sessions`` and
    ``max_sessions_per_client`` (open sessions), ``max_ctx_chars``.

    ``allowed_origins``: browser origins allowed to open sessions and post images
    (``scheme://host[:port]``); empty: the server's own origin only; ``("*",)``: any.
    ``expose_scores``: send scores, cues and reasons to the client (off: the browser gets the
    decision and a generic message; the app's backend gets the reason in the token).
    ``detector``: the :class:`fastlive.Config` of the pipeline; ``score_threads``: frames
    scored at once (default: the CPU count).
    """

    secret: str | bytes | None = None
    token_ttl_s: float = 300.0

    challenges: bool = True
    challenge_kinds: tuple[str, ...] = KINDS
    challenge_count: tuple[int, int] = (2, 3)
    challenge_window_s: float = 6.0
    turn_deg: float = 20.0
    closer_ratio: float = 1.2
    align_hold_s: float = 0.5
    verify_live_frames: int = 5
    verify_spoof_frames: int = 10
    verify_window_s: float = 8.0
    min_face_frac: float = 0.25
    max_face_frac: float = 0.8
    center_tol: float = 0.2
    straight_deg: float = 20.0
    max_face_gap_s: float = 1.0

    max_session_s: float = 60.0
    idle_timeout_s: float = 10.0
    max_fps: float = 30.0
    max_message_bytes: int = 512 * 1024
    max_frame_side: int = 1280
    min_frame_side: int = 64
    max_upload_bytes: int = 8 * 1024 * 1024
    max_image_side: int = 4096
    max_sessions: int = 32
    max_sessions_per_client: int = 2
    max_ctx_chars: int = 256

    allowed_origins: tuple[str, ...] = ()
    expose_scores: bool = False
    detector: Any = field(default_factory=_default_detector)
    score_threads: int | None = None

    def __post_init__(self) -> None:
        pos = ("token_ttl_s", "challenge_window_s", "turn_deg", "verify_window_s",
               "max_session_s", "idle_timeout_s", "max_fps", "min_face_frac", "max_face_frac",
               "center_tol", "straight_deg", "max_face_gap_s")
        for name in pos:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v <= 0:
                raise ValueError(f"ServeConfig.{name} must be a positive number, got {v!r}")
        if not self.align_hold_s >= 0:
            raise ValueError(f"ServeConfig.align_hold_s must be >= 0, got {self.align_hold_s!r}")
        if not self.closer_ratio > 1.0:
            raise ValueError(f"ServeConfig.closer_ratio must be above 1.0, got "
                             f"{self.closer_ratio!r}")
        if not self.min_face_frac < self.max_face_frac:
            raise ValueError("ServeConfig.min_face_frac must be below max_face_frac")
        ints = ("verify_live_frames", "verify_spoof_frames", "max_message_bytes",
                "max_frame_side", "min_frame_side", "max_upload_bytes", "max_image_side",
                "max_sessions", "max_sessions_per_client", "max_ctx_chars")
        for name in ints:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"ServeConfig.{name} must be a positive integer, got {v!r}")
        if self.min_frame_side > self.max_frame_side:
            raise ValueError("ServeConfig.min_frame_side must not exceed max_frame_side")
        if self.score_threads is not None and (
                not isinstance(self.score_threads, int) or self.score_threads < 1):
            raise ValueError(f"ServeConfig.score_threads must be a positive integer or None, "
                             f"got {self.score_threads!r}")
        kinds = tuple(self.challenge_kinds)
        bad = [k for k in kinds if k not in KINDS]
        if bad or not kinds:
            raise ValueError(f"ServeConfig.challenge_kinds must be a non-empty subset of "
                             f"{KINDS}, got {kinds!r}")
        lo, hi = self.challenge_count
        if not (1 <= lo <= hi <= len(set(kinds))):
            raise ValueError(f"ServeConfig.challenge_count {self.challenge_count!r} must "
                             f"satisfy 1 <= min <= max <= {len(set(kinds))} (the kinds given)")
        if isinstance(self.allowed_origins, str):
            raise TypeError("ServeConfig.allowed_origins must be a tuple of origins, not a str")
        for o in self.allowed_origins:
            if o != "*" and not (o.startswith("http://") or o.startswith("https://")):
                raise ValueError(f"ServeConfig.allowed_origins: {o!r} is not an origin "
                                 "(scheme://host[:port], or '*')")
        from fastlive import Config

        if not isinstance(self.detector, Config):
            raise TypeError(f"ServeConfig.detector must be a fastlive.Config, got "
                            f"{type(self.detector).__name__}")

    def replace(self, **changes: Any) -> ServeConfig:
        return dataclasses.replace(self, **changes)

    def secret_from_env(self) -> str | bytes | None:
        """``secret``, else the ``FASTLIVE_SERVE_SECRET`` environment variable, else None."""
        if self.secret is not None:
            return self.secret
        return os.environ.get(SECRET_ENV) or None
