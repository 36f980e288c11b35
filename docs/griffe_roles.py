"""Griffe extension for the API reference: check and link the docstrings' Sphinx roles.

seisembed's docstrings name other objects with Sphinx roles (``:func:`assemble_arrivals```,
``:class:`~seisembed.catalog.skips.Skips```, ``:mod:`seisembed.train.layers```). Markdown
has no such roles, so without this extension they would print verbatim and nothing would
notice when the object they name is renamed or removed. Once griffe has read the whole
package (statically: nothing is imported), this extension resolves every role the way
Python resolves a name (the object's own members, then its parents', imports included;
a dotted ``seisembed.…`` path from the top; the lazy ``__getattr__`` exports of a package
through the ``from … import name`` in its source) and rewrites it:

- a public seisembed object that the reference renders -> a cross-reference
  ``[`name`][seisembed.…]`` (mkdocs-autorefs links it; a strict build fails if it can't);
- a private seisembed object, or one outside seisembed (``sklearn.svm.SVC``,
  ``ValueError``) -> inline code;
- a name that resolves to nothing -> a warning, which fails ``mkdocs build --strict``
  (the file, line and role are printed): the docstring went stale.

Loaded by mkdocs.yml (``extensions: [docs/griffe_roles.py]``); the API pages are under
docs/api/.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(func|class|mod|meth|attr|data|exc|obj|const|type):`([^`]+)`")
PACKAGE = "seisembed"


class _Missing:
    pass


class _External:
    pass


MISSING, EXTERNAL = _Missing(), _External()


def _is_external_root(root: str) -> bool:
    if root == PACKAGE:
        return False
    if hasattr(builtins, root):
        return True
    try:
        return importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        return False


class SphinxRoles(griffe.Extension):
    """Resolve, check and link ``:role:`target``` in every docstring of the package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != PACKAGE:
            return
        self.top = pkg
        self.lazy_sources: dict[str, str] = {}
        for obj in self._walk(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = ROLE.sub(lambda m, obj=obj: self._rewrite(obj, m), obj.docstring.value)

    def _walk(self, obj: griffe.Object):
        yield obj
        for member in obj.members.values():
            if not member.is_alias:
                yield from self._walk(member)

    # -- resolution -------------------------------------------------------------------
    def _member(self, scope: griffe.Object, name: str):
        """``scope.name`` statically: a member (inherited ones too), or a lazy export."""
        members = scope.members
        if scope.is_class:
            with contextlib.suppress(griffe.AliasResolutionError, griffe.CyclicAliasError):
                members = scope.all_members
        if name in members:
            return members[name]
        if scope.is_class and scope.source and re.search(rf"\bself\.{re.escape(name)}\s*[:=]", scope.source):
            return EXTERNAL  # an instance attribute set outside __init__: exists, griffe keeps no object
        if scope.is_module and "__getattr__" in scope.members:
            # ``__all__`` names loaded on first use: `if name == "x": from seisembed.a import x`
            source = self.lazy_sources.setdefault(scope.path, scope.filepath.read_text(encoding="utf-8"))
            for module, names in re.findall(rf"from\s+({PACKAGE}[\w.]*)\s+import\s+([^\n]+)", source):
                for item in names.strip("()").split(","):
                    imported, _, bound = item.strip().partition(" as ")
                    if (bound or imported).strip() == name:
                        return self._absolute(f"{module}.{imported.strip()}")
        return MISSING

    def _final(self, obj):
        """Follow aliases; EXTERNAL for an import from outside the package."""
        while obj is not MISSING and obj is not EXTERNAL and obj.is_alias:
            if obj.target_path.split(".")[0] != PACKAGE:
                return EXTERNAL
            try:
                obj = obj.final_target
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                return MISSING
        return obj

    def _descend(self, obj, parts: list[str]):
        for part in parts:
            obj = self._final(obj)
            if obj is MISSING or obj is EXTERNAL:
                return obj
            obj = self._member(obj, part)
        return self._final(obj)

    def _absolute(self, path: str):
        parts = path.split(".")
        if parts[0] != PACKAGE:
            return MISSING
        return self._descend(self.top, parts[1:])

    def _resolve(self, obj: griffe.Object, target: str):
        parts = target.split(".")
        scope = obj if (obj.is_module or obj.is_class) else obj.parent
        while scope is not None:
            if self._member(scope, parts[0]) is not MISSING:
                return self._descend(scope, parts)
            scope = scope.parent
        if parts[0] == PACKAGE:
            return self._absolute(target)
        if _is_external_root(parts[0]):
            return EXTERNAL
        return MISSING

    # -- rewriting --------------------------------------------------------------------
    def _rewrite(self, obj: griffe.Object, match: re.Match) -> str:
        role, text = match.group(1), match.group(2).strip()
        titled = re.fullmatch(r"(.+?)\s*<(.+)>", text)
        if titled:
            title, target = titled.group(1), titled.group(2)
        else:
            target = text
            title = None
        short = target.startswith("~")
        target = target.lstrip("~.!").removesuffix("()")
        display = title or (target.rsplit(".", 1)[-1] if short else target)
        code = f"`{display}`"
        found = self._resolve(obj, target)
        if found is MISSING:
            docstring = obj.docstring
            line = (docstring.lineno or 0) + docstring.value[: match.start()].count("\n")
            griffe.logger.warning(
                f"{obj.relative_filepath}:{line}: :{role}:`{text}` in the docstring of {obj.path} "
                "names no object (stale reference? rename it or write it as ``code``)"
            )
            return code
        if found is EXTERNAL:
            return code
        public = not any(part.startswith("_") for part in found.path.split("."))
        if public and found.has_docstrings:
            return f"[{code}][{found.path}]"
        return code
