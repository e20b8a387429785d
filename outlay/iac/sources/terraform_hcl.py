"""A Terraform directory (its *.tf files, without a plan) as `Resource`s, the way `terraform_plan` gives them.

The files are parsed into python-hcl2's raw syntax tree (`hcl2.parses_to_tree`) rather than its dict output: the
dict form writes every expression back as `"${...}"` text that would have to be parsed again to be evaluated,
whereas the tree already is the expression's structure. A small evaluator then does what `terraform plan` would do
with what the configuration itself says:

- `variable` defaults (overridden in the root by terraform.tfvars and *.auto.tfvars, in a module by its inputs),
  `locals`, `count.index`, `each.key`/`each.value`, for expressions, conditionals, arithmetic, string templates and
  the common functions (`toset`, `flatten`, `merge`, `lookup`, `length`, ...);
- `count` and `for_each` expand a resource or module into its instances' addresses (`name[0]`, `name["key"]`); a
  count that cannot be known counts once, a for_each that cannot be known gives no instance, each with a problem;
- a reference to another resource's attribute gives that attribute's configured value; its `id` or `arn`, which
  only apply knows, gives the referenced instance's address instead (`aws_launch_template.foo`,
  `module.m.aws_launch_configuration.lc[0]`): a marker the estimator can follow to the resource it names;
- anything else only apply could know (a computed attribute, `data.*`, a module's outputs, `file()`) is unknown:
  left out of the attributes (None inside a list), never an error;
- nested blocks (and `dynamic` blocks, expanded) become lists of dicts, like the plan's planned values;
- `module` blocks whose source is local (`./modules/foo`), or was downloaded by `terraform init` (listed in
  .terraform/modules/modules.json), are read with their inputs, their resources' addresses prefixed
  `module.NAME.`; any other source is a problem;
- the region is the one of the provider configuration a resource uses (`provider "aws" { region = ... }`, an alias
  named by `provider = aws.west`, or one a module call passes on in `providers`), else its availability zone's,
  else `default_region`; the provider's `default_tags` are merged under the resource's `tags`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import process_escape_sequences
from lark import Token, Tree
from lark.exceptions import LarkError

from outlay.iac.resources import InputError, Problem, Resource, region_of_zone


class _Unknown(Enum):
    """A value only `terraform apply` could know."""

    UNKNOWN = "unknown"


UNKNOWN = _Unknown.UNKNOWN
_RESOURCE_META = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"})
_MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
_MAX_MODULE_DEPTH = 16  # a module that (indirectly) calls itself stops here instead of recursing forever


# ---------------------------------------------------------------------------------------------------------------
# The syntax tree: small accessors over python-hcl2's lark tree
# ---------------------------------------------------------------------------------------------------------------


def _trees(node: Tree) -> list[Tree]:
    """A node's sub-trees without the newlines and comments the grammar keeps."""
    return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _tokens(node: Tree) -> list[str]:
    return [str(c) for c in node.children if isinstance(c, Token)]


def _name(node: Tree) -> str:
    """The text of an identifier, keyword or literal (`true`) node."""
    return str(node.children[0])


def _literal_string(node: Tree) -> str:
    """A block label: `"aws_instance"` or a bare identifier."""
    if node.data == "string":
        return "".join(str(part.children[0]) for part in _trees(node) if isinstance(part.children[0], Token))
    return _name(node)


def _traversal(node: Tree) -> str | None:
    """A bare reference (`aws.west`, `override`) as text, for the places Terraform reads one unevaluated."""
    if node.data == "expr_term" and len(_trees(node)) == 1:
        return _traversal(_trees(node)[0])
    if node.data == "identifier":
        return _name(node)
    if node.data == "get_attr_expr_term":
        base, attr = _trees(node)
        head = _traversal(base)
        return f"{head}.{_name(_trees(attr)[0])}" if head else None
    return None


@dataclass(frozen=True)
class _Block:
    """A block of a file: `resource "aws_instance" "web" {...}` has kind resource and two labels."""

    kind: str
    labels: tuple[str, ...]
    body: Tree
    file: Path

    def attribute(self, name: str) -> Tree | None:
        """The expression of one of the block's own attributes, unevaluated."""
        for child in _trees(self.body):
            if child.data == "attribute" and _name(_trees(child)[0]) == name:
                return _trees(child)[1]
        return None

    def attributes(self) -> Iterator[tuple[str, Tree]]:
        for child in _trees(self.body):
            if child.data == "attribute":
                key, expression = _trees(child)
                yield _name(key), expression

    def blocks(self, kind: str) -> list[_Block]:
        return [b for b in _blocks(self.body, self.file) if b.kind == kind]


def _blocks(body: Tree, file: Path) -> list[_Block]:
    found = []
    for child in _trees(body):
        if child.data == "block":
            parts = _trees(child)
            labels = tuple(_literal_string(p) for p in parts[1:-1])
            found.append(_Block(_name(parts[0]), labels, parts[-1], file))
    return found


def _parse(path: Path, problems: list[Problem]) -> Tree | None:
    """One file's tree, or None with a problem naming the file and the parser's message."""
    try:
        return hcl2.parses_to_tree(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), f"cannot read: {exc}"))
    except (LarkError, RuntimeError) as exc:  # python-hcl2 raises RuntimeError for some malformed heredocs
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.append(Problem(str(path), f"cannot parse HCL: {message}"))
    return None


@dataclass
class _Config:
    """What one directory (a root or a module) declares."""

    directory: Path
    resources: list[_Block] = field(default_factory=list)
    modules: list[_Block] = field(default_factory=list)
    providers: list[_Block] = field(default_factory=list)
    variables: dict[str, Tree | None] = field(default_factory=dict)  # name -> its default's expression
    locals: dict[str, Tree] = field(default_factory=dict)


def _read_config(directory: Path, problems: list[Problem]) -> _Config:
    config = _Config(directory)
    for path in sorted(directory.glob("*.tf")):
        tree = _parse(path, problems)
        if tree is None:
            continue
        for block in _blocks(_trees(tree)[0], path):
            if block.kind == "resource" and len(block.labels) == 2:
                config.resources.append(block)
            elif block.kind == "module" and block.labels:
                config.modules.append(block)
            elif block.kind == "provider" and block.labels:
                config.providers.append(block)
            elif block.kind == "variable" and block.labels:
                config.variables[block.labels[0]] = block.attribute("default")
            elif block.kind == "locals":
                config.locals.update(block.attributes())
    return config


# ---------------------------------------------------------------------------------------------------------------
# Values: conversions and functions
# ---------------------------------------------------------------------------------------------------------------


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def _whole(value: int | float) -> int | float:
    """Terraform has one number type: 4 / 2 is 2, not 2.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(_whole(value))
    if isinstance(value, str):
        return value
    raise TypeError(f"{type(value).__name__} is not a string")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise TypeError(f"{value!r} is not a bool")


def _items(collection: Any) -> list[tuple[Any, Any]]:
    """(key, value) pairs as a for expression or for_each sees them: maps in key order, lists by index."""
    if isinstance(collection, dict):
        return [(k, collection[k]) for k in sorted(collection, key=str)]
    if isinstance(collection, list):
        return list(enumerate(collection))
    raise TypeError(f"cannot iterate over {type(collection).__name__}")


def _flatten(value: Any) -> list[Any]:
    return [x for item in value for x in _flatten(item)] if isinstance(value, list) else [value]


def _toset(value: Any) -> list[Any]:
    """A set as a list: unique, and strings in lexical order as Terraform orders them."""
    unique = list(dict.fromkeys(value))
    return sorted(unique) if all(isinstance(v, str) for v in unique) else unique


def _format(spec: str, *args: Any) -> str:
    values = iter(args)

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        value = next(values)
        return str(int(_number(value))) if match.group(0).endswith("d") else _string(value)

    return re.sub(r"%%|%[-+ #0-9.]*[sdvq]", one, spec)


def _lookup(mapping: dict[str, Any], key: str, *default: Any) -> Any:
    return mapping[key] if key in mapping or not default else default[0]


def _range(*args: Any) -> list[int | float]:
    numbers = [_number(a) for a in args]
    start, stop = (0, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
    step = numbers[2] if len(numbers) > 2 else 1
    out: list[int | float] = []
    while (step > 0 and start < stop) or (step < 0 and start > stop):
        out.append(start)
        start += step
    return out


def _coalesce(*args: Any) -> Any:
    return next(a for a in args if a is not None and a != "")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "length": len,
    "toset": _toset,
    "tolist": lambda v: list(v),
    "tomap": dict,
    "tostring": _string,
    "tonumber": _number,
    "tobool": _bool,
    "flatten": _flatten,
    "concat": lambda *lists: [x for part in lists for x in part],
    "merge": lambda *maps: {k: v for m in maps if m is not None for k, v in m.items()},
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "lookup": _lookup,
    "element": lambda items, i: items[int(_number(i)) % len(items)],
    "contains": lambda items, v: v in items,
    "join": lambda sep, items: sep.join(_string(i) for i in items),
    "split": lambda sep, text: text.split(sep),
    "upper": lambda s: s.upper(),
    "lower": lambda s: s.lower(),
    "title": lambda s: s.title(),
    "trimspace": lambda s: s.strip(),
    "replace": lambda s, old, new: s.replace(old, new),
    "substr": lambda s, off, n: s[int(off) :] if int(n) < 0 else s[int(off) : int(off) + int(n)],
    "format": _format,
    "coalesce": _coalesce,
    "coalescelist": lambda *lists: next(x for x in lists if x),
    "min": lambda *ns: min(map(_number, _flatten(list(ns)))),
    "max": lambda *ns: max(map(_number, _flatten(list(ns)))),
    "abs": lambda n: abs(_number(n)),
    "ceil": lambda n: math.ceil(_number(n)),
    "floor": lambda n: math.floor(_number(n)),
    "range": _range,
    "zipmap": lambda ks, vs: dict(zip(ks, vs, strict=True)),
    "distinct": lambda items: list(dict.fromkeys(items)),
    "compact": lambda items: [i for i in items if i not in (None, "")],
    "reverse": lambda items: list(reversed(items)),
    "sort": lambda items: sorted(items),
    "slice": lambda items, a, b: items[int(a) : int(b)],
    "one": lambda items: items[0] if len(items) == 1 else None if not items else UNKNOWN,
    "jsonencode": lambda v: json.dumps(v, separators=(",", ":")),
}
_FAILURES = (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, AttributeError, StopIteration)


def _known(value: Any) -> Any:
    """A value as a Resource attribute: unknown parts left out of mappings and None in lists, references to
    resources as their address, everything else plain Python."""
    if isinstance(value, _Instance):
        return value.address
    if isinstance(value, _Reference):
        return str(value)
    if value is UNKNOWN or isinstance(value, _Lazy):
        return UNKNOWN
    if isinstance(value, dict):
        return {str(k): v for k, v in ((k, _known(v)) for k, v in value.items()) if v is not UNKNOWN}
    if isinstance(value, list):
        return [None if v is UNKNOWN else v for v in map(_known, value)]
    return value


# ---------------------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------------------


class _Lazy:
    """A namespace whose attributes are worked out when read (`local`, `aws_instance`, one instance)."""

    def attr(self, name: str) -> Any:
        raise NotImplementedError


def _get(value: Any, name: str) -> Any:
    if isinstance(value, _Lazy):
        return value.attr(name)
    if isinstance(value, dict):
        return value.get(name, UNKNOWN)
    return UNKNOWN


def _index(value: Any, key: Any) -> Any:
    if key is UNKNOWN:
        return UNKNOWN
    if isinstance(value, list):
        try:
            position = int(_number(key))
        except _FAILURES:
            return UNKNOWN
        return value[position] if 0 <= position < len(value) else UNKNOWN
    if isinstance(value, dict):
        return value.get(key if key in value else _string(key), UNKNOWN)
    return _get(value, _string(key)) if isinstance(value, _Lazy) else UNKNOWN


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: _number(a) < _number(b),
    ">": lambda a, b: _number(a) > _number(b),
    "<=": lambda a, b: _number(a) <= _number(b),
    ">=": lambda a, b: _number(a) >= _number(b),
    "+": lambda a, b: _number(a) + _number(b),
    "-": lambda a, b: _number(a) - _number(b),
    "*": lambda a, b: _number(a) * _number(b),
    "/": lambda a, b: _whole(_number(a) / _number(b)),
    "%": lambda a, b: _whole(math.fmod(_number(a), _number(b))),  # the dividend's sign, as in Terraform: -3 % 2 is -1
    "==": lambda a, b: _equal(a, b),
    "!=": lambda a, b: not _equal(a, b),
}


def _equal(a: Any, b: Any) -> bool:
    """Terraform's ==: values of different types differ (1 != "1", true != 1), but 1 == 1.0."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
    return bool(a == b and (numbers or type(a) is type(b)))


class _Evaluator:
    """Evaluates expressions in a module instance, with the names bound around them (count, each, for, dynamic)."""

    def __init__(self, scope: _ModuleScope, bindings: Mapping[str, Any] | None = None) -> None:
        self.scope = scope
        self.bindings = dict(bindings or {})

    def bind(self, **values: Any) -> _Evaluator:
        return _Evaluator(self.scope, {**self.bindings, **values})

    def eval(self, node: Tree) -> Any:
        handler = getattr(self, f"_e_{node.data}", None)
        if handler is None:  # a construct this evaluator does not know (template directives): unknown, not fatal
            return UNKNOWN
        try:
            return handler(node)
        except _FAILURES:  # a function or operator on values of the wrong kind: what plan would reject is unknown
            return UNKNOWN

    # -- literals ------------------------------------------------------------------------------------------------

    def _e_expr_term(self, node: Tree) -> Any:
        return self.eval(_trees(node)[0])  # a single term, or a parenthesised expression

    def _e_int_lit(self, node: Tree) -> Any:
        return int(str(node.children[0]))

    def _e_float_lit(self, node: Tree) -> Any:
        return _whole(float(str(node.children[0])))

    def _e_literal_value(self, node: Tree) -> Any:
        return {"true": True, "false": False, "null": None}[_name(node)]

    def _e_string(self, node: Tree) -> Any:
        parts = [part.children[0] for part in _trees(node)]
        if len(parts) == 1 and isinstance(parts[0], Tree) and parts[0].data == "interpolation":
            return self.eval(parts[0])  # "${x}" alone is x itself, keeping its type
        text = []
        for part in parts:
            if isinstance(part, Tree):
                value = self.eval(part)
                value = value.configured if isinstance(value, _Reference) else value
                if value is UNKNOWN or isinstance(value, _Lazy):
                    return UNKNOWN
                text.append(value.address if isinstance(value, _Instance) else _string(value))
            elif part.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                text.append(str(part)[1:])  # $${ and %%{ are the literal ${ and %{
            else:
                text.append(process_escape_sequences(str(part)))
        return "".join(text)

    def _e_interpolation(self, node: Tree) -> Any:
        return self.eval(_trees(node)[0])

    def _e_heredoc_template(self, node: Tree) -> Any:
        lines = str(node.children[0]).split("\n")[1:-2]  # without <<EOF and the closing EOF line
        text = "\n".join(lines) + "\n"
        if node.data == "heredoc_template_trim":
            indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
            text = "\n".join(line[indent:] for line in lines) + "\n"
        return UNKNOWN if re.search(r"(?<!\$)\$\{|(?<!%)%\{", text) else text  # templates in heredocs: not evaluated

    _e_heredoc_template_trim = _e_heredoc_template

    def _e_tuple(self, node: Tree) -> Any:
        return [self.eval(item) for item in _trees(node)]

    def _e_object(self, node: Tree) -> Any:
        out: dict[str, Any] = {}
        for element in _trees(node):
            key_node, value_node = _trees(element)
            key = self._object_key(key_node)
            if key is UNKNOWN:
                return UNKNOWN
            out[_string(key)] = self.eval(value_node)
        return out

    def _object_key(self, node: Tree) -> Any:
        inner = _trees(node)[0]
        if inner.data == "keyword":
            return _name(inner)
        if "(" in _tokens(inner):
            return self.eval(inner)  # `(local.key) = 1`: parentheses make the key an expression
        bare = _traversal(inner)
        if bare is not None and "." not in bare:
            return bare  # `{ name = 1 }`: a bare word is the key itself, not a variable
        return self.eval(inner)

    # -- references ----------------------------------------------------------------------------------------------

    def _e_identifier(self, node: Tree) -> Any:
        name = _name(node)
        if name in self.bindings:
            return self.bindings[name]
        return self.scope.root(name)

    def _e_get_attr_expr_term(self, node: Tree) -> Any:
        base, attr = _trees(node)
        return _get(self.eval(base), _name(_trees(attr)[0]))

    def _e_index_expr_term(self, node: Tree) -> Any:
        base, index = _trees(node)
        return self._apply(self.eval(base), index)

    def _apply(self, value: Any, step: Tree) -> Any:
        """One traversal step (`.name`, `[key]`, `.0`) applied to a value."""
        if step.data == "get_attr":
            return _get(value, _name(_trees(step)[0]))
        if step.data == "short_index":
            return _index(value, int(_tokens(step)[-1]))
        return _index(value, self.eval(_trees(step)[0]))  # braces_index

    def _e_attr_splat_expr_term(self, node: Tree) -> Any:
        # `list.*.id[0]`: attribute steps apply to each element, and the first index onwards to the list made
        base, splat = _trees(node)
        steps = _trees(splat)
        cut = next((i for i, s in enumerate(steps) if s.data != "get_attr"), len(steps))
        value = self._splat(self.eval(base), steps[:cut])
        for step in steps[cut:]:
            value = self._apply(value, step)
        return value

    def _e_full_splat_expr_term(self, node: Tree) -> Any:
        base, splat = _trees(node)
        return self._splat(self.eval(base), _trees(splat))

    def _splat(self, value: Any, steps: list[Tree]) -> Any:
        if value is UNKNOWN:
            return UNKNOWN
        elements = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        if value is None:
            elements = []
        out = []
        for element in elements:
            for step in steps:
                element = self._apply(element, step)
            out.append(element)
        return out

    # -- operators -----------------------------------------------------------------------------------------------

    def _e_conditional(self, node: Tree) -> Any:
        condition, yes, no = _trees(node)
        chosen = self.eval(condition)
        if chosen is UNKNOWN:
            first, second = self.eval(yes), self.eval(no)
            return first if first == second else UNKNOWN
        return self.eval(yes if _bool(chosen) else no)

    def _e_binary_op(self, node: Tree) -> Any:
        left_node, term = _trees(node)
        operator_node, right_node = _trees(term)
        operator = _tokens(operator_node)[0]
        left = self.eval(left_node)
        if operator in ("&&", "||"):
            return self._logical(operator, left, right_node)
        right = self.eval(right_node)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        return _COMPARE[operator](left, right)

    def _logical(self, operator: str, left: Any, right_node: Tree) -> Any:
        # false && anything is false and true || anything is true, even when the other side is unknown
        if left is not UNKNOWN and _bool(left) == (operator == "||"):
            return operator == "||"
        right = self.eval(right_node)
        if right is UNKNOWN:
            return UNKNOWN if left is UNKNOWN or _bool(right) != (operator == "||") else operator == "||"
        if _bool(right) == (operator == "||"):
            return operator == "||"
        return UNKNOWN if left is UNKNOWN else _bool(right)

    def _e_unary_op(self, node: Tree) -> Any:
        operator = _tokens(node)[0]
        value = self.eval(_trees(node)[0])
        if value is UNKNOWN:
            return UNKNOWN
        return -_number(value) if operator == "-" else not _bool(value)

    # -- functions and for expressions ---------------------------------------------------------------------------

    def _e_function_call(self, node: Tree) -> Any:
        parts = _trees(node)
        name = "::".join(_name(p) for p in parts if p.data == "identifier")  # provider::aws::f names a provider's
        arguments = next((p for p in parts if p.data == "arguments"), None)
        expressions = _trees(arguments) if arguments is not None else []
        if name in ("try", "can"):
            return self._try(name, expressions)
        function = _FUNCTIONS.get(name)
        if function is None:
            return UNKNOWN  # file(), timestamp(), cidrsubnet(), a provider's function: not worked out here
        values = [self.eval(a) for a in expressions]
        if arguments is not None and "..." in _tokens(arguments) and values and isinstance(values[-1], list):
            values = [*values[:-1], *values[-1]]  # f(list...) spreads its last argument
        if any(v is UNKNOWN or isinstance(v, _Lazy) for v in values):
            return UNKNOWN
        return function(*values)

    def _try(self, name: str, arguments: list[Tree]) -> Any:
        for argument in arguments:
            value = self.eval(argument)
            if value is not UNKNOWN:
                return True if name == "can" else value
        return UNKNOWN

    def _iterate(self, node: Tree) -> tuple[list[_Evaluator], list[Tree]] | None:
        """A for expression's steps (an evaluator per element kept by its `if`) and its result expressions;
        None when the collection or a condition cannot be known."""
        intro, *results = _trees(node)
        names = [_name(t) for t in _trees(intro) if t.data == "identifier"]
        collection = self.eval(_trees(intro)[-1])
        condition = _trees(results.pop())[0] if results and results[-1].data == "for_cond" else None
        if collection is UNKNOWN or isinstance(collection, _Lazy):
            return None
        steps = []
        for key, value in _items(collection):
            inner = self.bind(**({names[0]: key, names[1]: value} if len(names) == 2 else {names[0]: value}))
            keep = True if condition is None else inner.eval(condition)
            if keep is UNKNOWN:
                return None
            if _bool(keep):
                steps.append(inner)
        return steps, results

    def _e_for_tuple_expr(self, node: Tree) -> Any:
        found = self._iterate(node)
        if found is None:
            return UNKNOWN
        steps, (result,) = found
        return [inner.eval(result) for inner in steps]

    def _e_for_object_expr(self, node: Tree) -> Any:
        found = self._iterate(node)
        if found is None:
            return UNKNOWN
        steps, (key_node, value_node) = found
        grouped = "..." in _tokens(node)  # {for ... : k => v...} groups the values of equal keys
        out: dict[str, Any] = {}
        for inner in steps:
            key = inner.eval(key_node)
            if key is UNKNOWN:
                return UNKNOWN
            value = inner.eval(value_node)
            if grouped:
                out.setdefault(_string(key), []).append(value)
            else:
                out[_string(key)] = value
        return out

    # -- blocks --------------------------------------------------------------------------------------------------

    def body(self, block: _Block, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        """A block's attributes and nested blocks (lists of dicts), unknown values kept as UNKNOWN."""
        values: dict[str, Any] = {}
        for name, expression in block.attributes():
            if name not in skip:
                values[name] = self.eval(expression)
        for nested in _blocks(block.body, block.file):
            if nested.kind in skip:
                continue
            if nested.kind == "dynamic" and nested.labels:
                found = self._dynamic(nested)
                kind = nested.labels[0]
            else:
                found, kind = [self.body(nested)], nested.kind
            existing = values.get(kind)
            values[kind] = (existing if isinstance(existing, list) else []) + found
        return values

    def _dynamic(self, block: _Block) -> list[dict[str, Any]]:
        """`dynamic "override" { for_each = ...; content {...} }`: one block per element."""
        for_each = block.attribute("for_each")
        contents = block.blocks("content")
        iterator = block.attribute("iterator")
        name = (_traversal(iterator) if iterator is not None else None) or block.labels[0]
        collection = self.eval(for_each) if for_each is not None else UNKNOWN
        if collection is UNKNOWN or not contents or not isinstance(collection, dict | list):
            return []  # how many blocks there are is not known without a plan
        return [self.bind(**{name: {"key": k, "value": v}}).body(contents[0]) for k, v in _items(collection)]


# ---------------------------------------------------------------------------------------------------------------
# Modules, resources and their instances
# ---------------------------------------------------------------------------------------------------------------


class _Instance(_Lazy):
    """One resource instance, as a reference sees it: its configured attributes, worked out when first read."""

    def __init__(self, address: str, scope: _ModuleScope, block: _Block, bindings: Mapping[str, Any]) -> None:
        self.address, self.scope, self.block, self.bindings = address, scope, block, bindings
        self._values: dict[str, Any] | None = None
        self._busy = False

    def values(self) -> dict[str, Any]:
        if self._values is None:
            if self._busy:  # resources referring to each other: the inner read sees nothing known
                return {}
            self._busy = True
            try:
                self._values = _Evaluator(self.scope, self.bindings).body(self.block, _RESOURCE_META)
            finally:
                self._busy = False
        return self._values

    def attr(self, name: str) -> Any:
        value = self.values().get(name, UNKNOWN)
        if _identifies(name):
            return _Reference(f"{self.address}.{name}", value)
        return value  # unknown when only apply knows it (a computed attribute): left out, not guessed


def _identifies(attribute: str) -> bool:
    """Attributes one resource names another by (`launch_configuration = aws_launch_configuration.lc.name`):
    kept as references even when configured, so that the estimator can follow them."""
    return attribute in ("id", "arn", "name", "family") or attribute.endswith(("_id", "_arn", "_name"))


class _Reference(str):
    """A reference to another resource's attribute that stays a reference: its text (`aws_launch_template.foo.id`,
    the full address with module path and index) is what the attributes get, for `outlay.iac.links` to follow;
    `configured` is the attribute's own value when its resource sets it (or UNKNOWN), used where the reference
    is part of a string (`"table/${aws_dynamodb_table.t.name}"`)."""

    configured: Any

    def __new__(cls, text: str, configured: Any) -> _Reference:
        made = super().__new__(cls, text)
        made.configured = configured
        return made


class _ResourceType(_Lazy):
    """`aws_instance` in `aws_instance.web.id`: its attributes are the module's resources of that type."""

    def __init__(self, scope: _ModuleScope, type_name: str) -> None:
        self.scope, self.type_name = scope, type_name

    def attr(self, name: str) -> Any:
        return self.scope.group(f"{self.type_name}.{name}")


class _Locals(_Lazy):
    def __init__(self, scope: _ModuleScope) -> None:
        self.scope = scope

    def attr(self, name: str) -> Any:
        return self.scope.local(name)


@dataclass
class _Expansion:
    """A block's instances: `count` gives a list, `for_each` a map, neither a single one."""

    kind: str  # "single" | "count" | "for_each"
    instances: list[tuple[Any, str, dict[str, Any]]]  # (index or key, address suffix, bindings)


class _ModuleScope:
    """One instance of a module (the root is one): its variables' values, locals and resources."""

    def __init__(self, reader: _Reader, config: _Config, address: str, modules: tuple[str, ...], key: str) -> None:
        self.reader, self.config, self.address, self.modules, self.key = reader, config, address, modules, key
        self.variables: dict[str, Any] = {}
        self.regions: dict[str, Any] = {}  # provider configuration ("aws", "aws.west") -> its region
        self.default_tags: dict[str, Any] = {}
        self._locals: dict[str, Any] = {}
        self._groups: dict[str, Any] = {}
        self._types = {block.labels[0] for block in config.resources}
        self._resources = {".".join(block.labels): block for block in config.resources}

    @property
    def prefix(self) -> str:
        return f"{self.address}." if self.address else ""

    def root(self, name: str) -> Any:
        """What a bare name at the start of a reference means here."""
        if name == "var":
            return self.variables
        if name == "local":
            return _Locals(self)
        if name == "path":
            directory = str(self.config.directory)
            return {"module": directory, "root": str(self.reader.root), "cwd": str(self.reader.root)}
        if name == "terraform":
            return {"workspace": "default"}
        if name in self._types:
            return _ResourceType(self, name)
        return UNKNOWN  # data.*, module.* outputs, count/each outside a counted block, self: not known here

    def local(self, name: str) -> Any:
        if name not in self._locals:
            expression = self.config.locals.get(name)
            self._locals[name] = UNKNOWN  # a local that refers to itself reads as unknown instead of recursing
            if expression is not None:
                self._locals[name] = _Evaluator(self).eval(expression)
        return self._locals[name]

    def expand(self, block: _Block, base: str) -> _Expansion:
        """A resource's or module call's instances, by its `count` or `for_each`."""
        evaluator = _Evaluator(self)
        count, for_each = block.attribute("count"), block.attribute("for_each")
        if count is not None:
            value = evaluator.eval(count)
            try:
                exact = _number(value)
                number = int(exact)
            except _FAILURES:
                self.reader.problems.append(Problem(base, "count cannot be known without a plan: counted once"))
                number = 1
            else:
                if number < 0 or number != exact:
                    self.reader.problems.append(Problem(base, f"count: expected a whole number from 0, got {value!r}"))
                    number = max(0, number)
            return _Expansion("count", [(i, f"[{i}]", {"count": {"index": i}}) for i in range(number)])
        if for_each is not None:
            collection = evaluator.eval(for_each)
            if isinstance(collection, dict):
                pairs = [(str(k), v) for k, v in _items(collection)]
            elif isinstance(collection, list) and all(isinstance(v, str) for v in collection):
                pairs = [(v, v) for v in _toset(collection)]  # a set of strings: each key is its value
            else:
                self.reader.problems.append(Problem(base, "for_each cannot be known without a plan: not counted"))
                pairs = []
            return _Expansion(
                "for_each",
                [(k, f"[{json.dumps(k, ensure_ascii=False)}]", {"each": {"key": k, "value": v}}) for k, v in pairs],
            )
        return _Expansion("single", [(None, "", {})])

    def group(self, name: str) -> Any:
        """`aws_instance.web` as a reference sees it: an instance, a list of them (count) or a map (for_each)."""
        if name not in self._groups:
            block = self._resources.get(name)
            self._groups[name] = UNKNOWN  # a count that refers to its own resource is unknown
            if block is not None:
                self._groups[name] = self._instances(block, self.prefix + name)
        return self._groups[name]

    def _instances(self, block: _Block, base: str) -> Any:
        expansion = self.expand(block, base)
        made = [(key, _Instance(base + suffix, self, block, bindings)) for key, suffix, bindings in expansion.instances]
        if expansion.kind == "single":
            return made[0][1]
        if expansion.kind == "count":
            return [instance for _, instance in made]
        return dict(made)

    def resources(self) -> Iterator[tuple[_Instance, _Block]]:
        for name, block in self._resources.items():
            found = self.group(name)
            instances = found if isinstance(found, list) else list(found.values()) if isinstance(found, dict) else []
            for instance in [found] if isinstance(found, _Instance) else instances:
                yield instance, block


@dataclass
class _Reader:
    """Reads a root directory and the modules it calls, gathering problems on the way."""

    root: Path
    default_region: str | None
    problems: list[Problem] = field(default_factory=list)
    _configs: dict[Path, _Config] = field(default_factory=dict)

    def config(self, directory: Path) -> _Config:
        resolved = directory.resolve()
        if resolved not in self._configs:
            self._configs[resolved] = _read_config(directory, self.problems)
        return self._configs[resolved]

    def root_scope(self) -> _ModuleScope:
        scope = _ModuleScope(self, self.config(self.root), "", (), "")
        evaluator = _Evaluator(scope)
        for name, default in scope.config.variables.items():
            scope.variables[name] = evaluator.eval(default) if default is not None else UNKNOWN
        for path in self._tfvars():
            tree = _parse(path, self.problems)
            if tree is not None:
                for name, expression in _Block("tfvars", (), _trees(tree)[0], path).attributes():
                    scope.variables[name] = evaluator.eval(expression)
        self._providers(scope, {})
        return scope

    def _tfvars(self) -> list[Path]:
        """The variable files Terraform loads by itself, in its order (later ones win)."""
        named = self.root / "terraform.tfvars"
        return ([named] if named.is_file() else []) + sorted(self.root.glob("*.auto.tfvars"))

    def _providers(self, scope: _ModuleScope, inherited: dict[str, tuple[Any, dict[str, Any]]]) -> None:
        """The scope's provider configurations: those passed in, then its own blocks."""
        configurations = dict(inherited)
        evaluator = _Evaluator(scope)
        for block in scope.config.providers:
            alias_node = block.attribute("alias")
            alias = evaluator.eval(alias_node) if alias_node is not None else None
            key = f"{block.labels[0]}.{alias}" if isinstance(alias, str) else block.labels[0]
            region_node = block.attribute("region")
            region = evaluator.eval(region_node) if region_node is not None else UNKNOWN
            tags: dict[str, Any] = {}
            for default_tags in block.blocks("default_tags"):
                found = evaluator.body(default_tags).get("tags")
                tags = found if isinstance(found, dict) else tags
            configurations[key] = (region if isinstance(region, str) and region else None, tags)
        scope.regions = {k: region for k, (region, _) in configurations.items()}
        scope.default_tags = {k: tags for k, (_, tags) in configurations.items()}

    def children(self, scope: _ModuleScope) -> Iterator[_ModuleScope]:
        """The module instances a scope calls, their inputs and providers set."""
        for call in scope.config.modules:
            name = call.labels[0]
            key = f"{scope.key}.{name}" if scope.key else name
            base = f"{scope.prefix}module.{name}"
            directory = self._source(scope, call, key, base)
            if directory is None:
                continue
            if len(scope.modules) >= _MAX_MODULE_DEPTH:
                self.problems.append(Problem(base, f"modules nested more than {_MAX_MODULE_DEPTH} deep: not read"))
                continue
            for _, suffix, bindings in scope.expand(call, base).instances:
                yield self._child(scope, call, directory, base + suffix, key, bindings)

    def _child(
        self, parent: _ModuleScope, call: _Block, directory: Path, address: str, key: str, bindings: dict[str, Any]
    ) -> _ModuleScope:
        child = _ModuleScope(self, self.config(directory), address, (*parent.modules, address), key)
        evaluator = _Evaluator(parent, bindings)
        inputs = {name: evaluator.eval(expr) for name, expr in call.attributes() if name not in _MODULE_META}
        defaults = _Evaluator(child)
        for name, default in child.config.variables.items():
            if name in inputs:
                child.variables[name] = inputs[name]
            else:
                child.variables[name] = defaults.eval(default) if default is not None else UNKNOWN
        inherited = {k: (parent.regions.get(k), parent.default_tags.get(k, {})) for k in parent.regions}
        for inner, outer in _provider_map(call.attribute("providers")).items():
            inherited[inner] = (parent.regions.get(outer), parent.default_tags.get(outer, {}))
        self._providers(child, inherited)
        return child

    def _source(self, scope: _ModuleScope, call: _Block, key: str, base: str) -> Path | None:
        """The directory a module call's source is in: a local path, or where `terraform init` put it."""
        node = call.attribute("source")
        source = _Evaluator(scope).eval(node) if node is not None else UNKNOWN
        if isinstance(source, str) and source.startswith(("./", "../")):
            directory = scope.config.directory / source
            if directory.is_dir():
                return directory
            self.problems.append(Problem(base, f"module source {source} is not a directory"))
            return None
        downloaded = self._downloaded().get(key)
        if downloaded is not None:
            return downloaded
        named = source if isinstance(source, str) else "?"
        message = f"module source {named} is not local and was not downloaded (terraform init): not read"
        self.problems.append(Problem(base, message))
        return None

    def _downloaded(self) -> dict[str, Path]:
        """Module key -> directory, from the manifest `terraform init` writes."""
        manifest = self.root / ".terraform" / "modules" / "modules.json"
        try:
            entries = json.loads(manifest.read_text()).get("Modules") or []
        except (OSError, ValueError, AttributeError):
            return {}
        return {
            str(e.get("Key")): self.root / str(e.get("Dir")) for e in entries if isinstance(e, dict) and e.get("Key")
        }


def _provider_map(node: Tree | None) -> dict[str, str]:
    """A module call's `providers = { aws = aws.west }`: the module's name for a configuration -> the caller's."""
    term = _trees(node)[0] if node is not None else None
    if term is None or term.data != "object":
        return {}
    found = {}
    for element in _trees(term):
        key, value = _trees(element)
        inner, outer = _traversal(_trees(key)[0]), _traversal(value)
        if inner and outer:
            found[inner] = outer
    return found


def _region(scope: _ModuleScope, block: _Block, attributes: Mapping[str, Any], default: str | None) -> str | None:
    node = block.attribute("provider")
    key = (_traversal(node) if node is not None else None) or block.labels[0].split("_", 1)[0]
    region = scope.regions.get(key)
    if region:
        return str(region)
    return region_of_zone(attributes.get("availability_zone")) or default


def _tags(scope: _ModuleScope, block: _Block, attributes: Mapping[str, Any]) -> dict[str, str]:
    node = block.attribute("provider")
    key = (_traversal(node) if node is not None else None) or block.labels[0].split("_", 1)[0]
    own = attributes.get("tags")
    merged = {**_known(scope.default_tags.get(key) or {}), **(own if isinstance(own, dict) else {})}
    return {str(k): _string(v) for k, v in merged.items() if v is not None and not isinstance(v, dict | list)}


def _scope_resources(reader: _Reader, scope: _ModuleScope) -> Iterator[Resource]:
    for instance, block in scope.resources():
        attributes = _known(instance.values())
        region = _region(scope, block, attributes, reader.default_region)
        tags = _tags(scope, block, attributes)
        yield Resource(instance.address, block.labels[0], attributes, region, scope.modules, tags)
    for child in reader.children(scope):
        yield from _scope_resources(reader, child)


def directory_resources(path: Path, default_region: str | None = None) -> tuple[list[Resource], list[Problem]]:
    """The resources a Terraform directory's configuration declares, with the problems met reading it.

    Raises InputError when `path` is not a directory with .tf files; a file that cannot be parsed is a problem
    naming it, and the other files are still read.
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    if not any(root.glob("*.tf")):
        raise InputError(f"{root}: no Terraform files (*.tf)")
    reader = _Reader(root, default_region)
    resources = list(_scope_resources(reader, reader.root_scope()))
    return resources, reader.problems
