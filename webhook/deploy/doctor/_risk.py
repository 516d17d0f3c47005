"""What a risk module returns, and how it is registered."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from ._installation import Installation

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Risk:
    risk: str  # the module's id, e.g. "own-namespace-selected"
    level: Level  # error: can lock the cluster (the doctor refuses); warning: degrades or will break later
    where: str  # the object (and webhook) concerned
    message: str  # what is wrong and what to change

    def __str__(self) -> str:
        return f"{self.level}: [{self.risk}] {self.where}: {self.message}"


RiskCheck = Callable[[Installation], Iterable[Risk]]


@dataclass(frozen=True)
class RiskType:
    id: str
    summary: str
    run: RiskCheck


RISKS: dict[str, RiskType] = {}


def risk(risk_id: str, *, summary: str) -> Callable[[RiskCheck], RiskCheck]:
    def register(fn: RiskCheck) -> RiskCheck:
        if risk_id in RISKS:
            raise ValueError(f"risk {risk_id!r} registered twice")
        RISKS[risk_id] = RiskType(risk_id, summary, fn)
        return fn

    return register
