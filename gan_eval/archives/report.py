"""What reading an input produces besides cases: the limits it ran under, the refusal of a
whole input (``ArchiveError``), the rejection of one case (``Rejection``) and the report."""

from __future__ import annotations

from dataclasses import dataclass, field


class ArchiveError(Exception):
    """The whole input is refused (corrupt, not an archive, unsafe, unsupported)."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass
class Rejection:
    """One case that was not accepted, the file at fault and why."""

    case: str
    file: str
    reason: str


@dataclass
class Note:
    """Something worth knowing about an accepted case (masks given for some sequences only)."""

    case: str
    file: str
    note: str


@dataclass
class ValidationReport:
    """Every accepted case (id, file), every rejected one, notes on accepted ones,
    archive-level errors, skipped junk."""

    source: str
    accepted: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.errors

    def to_json(self) -> dict:
        """The CLI's ``--json`` contract: ``accepted``, ``rejected``, ``errors``, and ``notes``
        when there are any (so a report without notes reads as it always did)."""
        report = {
            "accepted": len(self.accepted),
            "rejected": [{"case": r.case, "file": r.file, "reason": r.reason} for r in self.rejected],
            "errors": list(self.errors),
        }
        if self.notes:
            report["notes"] = [{"case": n.case, "file": n.file, "note": n.note} for n in self.notes]
        return report

    def summary(self) -> str:
        lines = [f"{self.source}: {len(self.accepted)} accepted, {len(self.rejected)} rejected"]
        for title, column, rows in (("Rejected", "reason", [(r.case, r.file, r.reason) for r in self.rejected]),
                                    ("Notes", "note", [(n.case, n.file, n.note) for n in self.notes])):
            if rows:
                case_w = max(4, *(len(case) for case, _, _ in rows))
                file_w = max(4, *(len(file) for _, file, _ in rows))
                lines += ["", f"{title}:", f"  {'case':<{case_w}}  {'file':<{file_w}}  {column}"]
                lines += [f"  {case:<{case_w}}  {file:<{file_w}}  {text}" for case, file, text in rows]
        if self.errors:
            lines += ["", "Errors:"] + [f"  {e}" for e in self.errors]
        if self.ignored:
            shown = ", ".join(self.ignored[:5]) + (", ..." if len(self.ignored) > 5 else "")
            lines += ["", f"Ignored {len(self.ignored)} non-case files: {shown}"]
        return "\n".join(lines)


@dataclass(frozen=True)
class Limits:
    """Safety limits. Defaults fit a 1000-case 256x256 submission with masks many times over."""

    max_image_side: int = 2048
    max_entry_bytes: int = 1 << 30           # one member (a stacked (N,3,H,W) array is one member)
    max_total_bytes: int = 4 << 30           # everything read from one input
    max_ratio: float = 200.0                 # uncompressed / compressed, per entry and whole archive
    ratio_floor_bytes: int = 1 << 20         # smaller entries are not ratio-checked: an all-zero
                                             # 64 KB mask deflates 500x yet cannot hurt anyone
    max_depth: int = 8                       # path components of an entry
    max_members: int = 100_000
    max_tar_metadata_bytes: int = 64 << 10   # one tar long-name or pax header: a path needs < 4 KB

    @property
    def max_image_bytes(self) -> int:
        """Largest single image file any accepted image can need (float64 at the side limit)."""
        return self.max_image_side ** 2 * 8 + (1 << 16)


class CaseRejected(Exception):
    """Raised inside case readers; becomes a Rejection (``file`` None: the case's own file)."""

    def __init__(self, reason: str, file: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.file = file
