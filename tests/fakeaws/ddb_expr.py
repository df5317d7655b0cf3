"""DynamoDB expressions: a tokenizer, recursive-descent parsers for condition
and update expressions, and their evaluation over items.

Grammar (Amazon DynamoDB Developer Guide, "Condition expressions" and
"Update expressions"), precedence from loosest to tightest: OR, AND, NOT,
then comparisons, BETWEEN, IN and functions; parentheses group.

    condition := or ; or := and (OR and)* ; and := not (AND not)*
    not       := NOT not | primary
    primary   := '(' condition ')' | function '(' args ')'
               | operand (comparator operand | BETWEEN operand AND operand
                          | IN '(' operand (',' operand)* ')')
    operand   := path | :value | size '(' path ')'
    path      := (name | #name) ('.' (name | #name) | '[' digits ']')*
    update    := (SET action, ... | REMOVE path, ... | ADD path :value, ...
                  | DELETE path :value, ...)+   each clause at most once
    action    := path '=' value ; value := term (('+' | '-') term)?
    term      := operand | if_not_exists '(' path ',' term ')'
               | list_append '(' term ',' term ')'

Items and values are the wire's AttributeValue dicts ({"S": "x"},
{"N": "12"}, ...); an item is {name: AttributeValue}. Every problem is an
ExprError whose message is AWS's ValidationException wording.
"""

import base64
import copy
import os
from decimal import Decimal, InvalidOperation

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_reserved():
    with open(os.path.join(HERE, "ddb_reserved_words.txt"),
              encoding="utf-8") as f:
        return {w.strip().upper() for w in f
                if w.strip() and not w.startswith("#")}


RESERVED = _load_reserved()
CONDITION_FUNCTIONS = {"attribute_exists", "attribute_not_exists",
                       "attribute_type", "begins_with", "contains"}
UPDATE_FUNCTIONS = {"if_not_exists", "list_append"}
COMPARATORS = {"=", "<>", "<", "<=", ">", ">="}
ATTRIBUTE_TYPES = {"S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"}
PUNCT = ("<>", "<=", ">=", "=", "<", ">", "(", ")", ",", ".", "[", "]", "+",
         "-")


class ExprError(Exception):
    """A ValidationException; the message is AWS's text."""


# -- tokenizer ---------------------------------------------------------------

class Token:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind, text, start, end):
        self.kind = kind      # IDENT, ATTR, VALUE, INT, PUNCT, EOF
        self.text = text
        self.start = start
        self.end = end


def _word_end(src, i):
    while i < len(src) and (src[i].isalnum() or src[i] == "_"):
        i += 1
    return i


def tokenize(src, label):
    out = []
    i = 0
    while i < len(src):
        c = src[i]
        if c.isspace():
            i += 1
            continue
        if c in "#:":
            j = _word_end(src, i + 1)
            if j == i + 1:
                _syntax(label, src, c, i, i + 1)
            out.append(Token("ATTR" if c == "#" else "VALUE", src[i:j], i, j))
        elif c.isalpha() or c == "_":
            j = _word_end(src, i)
            out.append(Token("IDENT", src[i:j], i, j))
        elif c.isdigit():
            j = i
            while j < len(src) and src[j].isdigit():
                j += 1
            out.append(Token("INT", src[i:j], i, j))
        else:
            for p in PUNCT:
                if src.startswith(p, i):
                    j = i + len(p)
                    out.append(Token("PUNCT", p, i, j))
                    break
            else:
                _syntax(label, src, c, i, i + 1)
        i = out[-1].end
    out.append(Token("EOF", "<EOF>", len(src), len(src)))
    return out


def _syntax(label, src, text, start, end):
    near = src[max(0, start - 10):end + 10].strip()
    tok = text if text == "<EOF>" else '"%s"' % text
    raise ExprError('Invalid %s: Syntax error; token: %s, near: "%s"'
                    % (label, tok, near))


# -- parser ------------------------------------------------------------------

class Parser:
    """One expression of a request. names/values are the request's
    ExpressionAttributeNames/Values; used_names/used_values collect what
    every expression of the request used (for the "unused" check)."""

    def __init__(self, src, label, names, values, used_names, used_values):
        self.src = src
        self.label = label
        self.names = names or {}
        self.values = values or {}
        self.used_names = used_names
        self.used_values = used_values
        self.toks = tokenize(src, label)
        self.pos = 0

    # token helpers
    def peek(self, k=0):
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def take(self):
        t = self.peek()
        self.pos += 1
        return t

    def is_kw(self, word, k=0):
        t = self.peek(k)
        return t.kind == "IDENT" and t.text.upper() == word

    def is_punct(self, p, k=0):
        t = self.peek(k)
        return t.kind == "PUNCT" and t.text == p

    def fail(self, t=None):
        t = t or self.peek()
        _syntax(self.label, self.src, t.text, t.start, t.end)

    def expect_punct(self, p):
        if not self.is_punct(p):
            self.fail()
        return self.take()

    def error(self, msg):
        raise ExprError("Invalid %s: %s" % (self.label, msg))

    def done(self, node):
        if self.peek().kind != "EOF":
            self.fail()
        return node

    # operands
    def path(self):
        elems = [self.path_name()]
        while True:
            if self.is_punct("."):
                self.take()
                elems.append(self.path_name())
            elif self.is_punct("["):
                self.take()
                t = self.take()
                if t.kind != "INT":
                    self.fail(t)
                self.expect_punct("]")
                elems.append(int(t.text))
            else:
                return ("path", elems)

    def path_name(self):
        t = self.take()
        if t.kind == "ATTR":
            if t.text not in self.names:
                self.error("An expression attribute name used in the document "
                           "path is not defined; attribute name: %s" % t.text)
            self.used_names.add(t.text)
            return self.names[t.text]
        if t.kind == "IDENT":
            if t.text.upper() in RESERVED:
                self.error("Attribute name is a reserved keyword; reserved "
                           "keyword: %s" % t.text)
            return t.text
        self.fail(t)

    def value(self):
        t = self.take()
        if t.text not in self.values:
            self.error("An expression attribute value used in expression is "
                       "not defined; attribute value: %s" % t.text)
        self.used_values.add(t.text)
        return ("value", self.values[t.text])

    def operand(self):
        t = self.peek()
        if t.kind == "VALUE":
            return self.value()
        if t.kind == "IDENT" and self.is_punct("(", 1):
            if t.text != "size":
                self.error("Invalid function name; function: %s" % t.text)
            self.take()
            self.take()
            p = self.path()
            self.expect_punct(")")
            return ("size", p)
        if t.kind in ("IDENT", "ATTR"):
            return self.path()
        self.fail(t)

    # conditions
    def condition(self):
        return self.done(self.or_expr())

    def or_expr(self):
        node = self.and_expr()
        while self.is_kw("OR"):
            self.take()
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.is_kw("AND"):
            self.take()
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.is_kw("NOT"):
            self.take()
            return ("not", self.not_expr())
        return self.primary()

    def primary(self):
        if self.is_punct("("):
            self.take()
            node = self.or_expr()
            self.expect_punct(")")
            return node
        t = self.peek()
        if t.kind == "IDENT" and self.is_punct("(", 1) and t.text != "size":
            return self.function()
        left = self.operand()
        t = self.peek()
        if t.kind == "PUNCT" and t.text in COMPARATORS:
            self.take()
            return ("cmp", t.text, left, self.operand())
        if self.is_kw("BETWEEN"):
            self.take()
            low = self.operand()
            if not self.is_kw("AND"):
                self.fail()
            self.take()
            return ("between", left, low, self.operand())
        if self.is_kw("IN"):
            self.take()
            self.expect_punct("(")
            items = [self.operand()]
            while self.is_punct(","):
                self.take()
                items.append(self.operand())
            self.expect_punct(")")
            return ("in", left, items)
        self.fail(t)

    def function(self):
        name = self.take().text
        if name not in CONDITION_FUNCTIONS:
            self.error("Invalid function name; function: %s" % name)
        self.take()
        args = [self.operand()]
        while self.is_punct(","):
            self.take()
            args.append(self.operand())
        self.expect_punct(")")
        want = 1 if name in ("attribute_exists", "attribute_not_exists") else 2
        if len(args) != want:
            self.error("Incorrect number of operands for operator or "
                       "function; operator or function: %s, number of "
                       "operands: %d" % (name, len(args)))
        if args[0][0] != "path":
            self.error("Operator or function requires a document path; "
                       "operator or function: %s" % name)
        return ("fn", name, args)

    # update expressions
    def update(self):
        clauses = {}
        while self.peek().kind != "EOF":
            t = self.take()
            word = t.text.upper() if t.kind == "IDENT" else None
            if word not in ("SET", "REMOVE", "ADD", "DELETE"):
                self.fail(t)
            if word in clauses:
                self.error('The "%s" section can only be used once in an '
                           'update expression;' % word)
            clauses[word] = self.clause_items(word)
        if not clauses:
            self.fail()
        return clauses

    def clause_items(self, word):
        items = [self.clause_item(word)]
        while self.is_punct(","):
            self.take()
            items.append(self.clause_item(word))
        return items

    def clause_item(self, word):
        p = self.path()
        if word == "REMOVE":
            return (p, None)
        if word == "SET":
            self.expect_punct("=")
            return (p, self.set_value())
        if self.peek().kind != "VALUE":
            self.fail()
        return (p, self.value())

    def set_value(self):
        left = self.term()
        if self.is_punct("+") or self.is_punct("-"):
            op = self.take().text
            return (op, left, self.term())
        return left

    def term(self):
        t = self.peek()
        if t.kind == "IDENT" and self.is_punct("(", 1):
            if t.text not in UPDATE_FUNCTIONS:
                self.error("Invalid function name; function: %s" % t.text)
            self.take()
            self.take()
            first = self.path() if t.text == "if_not_exists" else self.term()
            self.expect_punct(",")
            second = self.term()
            self.expect_punct(")")
            return (t.text, first, second)
        if t.kind == "VALUE":
            return self.value()
        if t.kind in ("IDENT", "ATTR"):
            return self.path()
        self.fail(t)


# -- values ------------------------------------------------------------------

def number(text):
    try:
        d = Decimal(text)
    except (InvalidOperation, TypeError):
        raise ExprError("A value provided cannot be converted into a number")
    if not d.is_finite():
        raise ExprError("A value provided cannot be converted into a number")
    return d


def number_text(d):
    """DynamoDB's canonical form: no exponent, no trailing zeros."""
    if d == 0:
        return "0"
    s = format(d.normalize(), "f")
    return s


def _set_members(av):
    kind = next(iter(av))
    if kind == "NS":
        return {number(x) for x in av[kind]}
    return set(av[kind])


def equal(a, b):
    if a is None or b is None:
        return False
    ka, kb = next(iter(a)), next(iter(b))
    if ka != kb:
        return False
    if ka == "N":
        return number(a["N"]) == number(b["N"])
    if ka in ("SS", "NS", "BS"):
        return _set_members(a) == _set_members(b)
    if ka == "M":
        return a["M"].keys() == b["M"].keys() and all(
            equal(v, b["M"][k]) for k, v in a["M"].items())
    if ka == "L":
        return len(a["L"]) == len(b["L"]) and all(
            equal(x, y) for x, y in zip(a["L"], b["L"]))
    return a[ka] == b[kb]


def _ordered(a, b):
    """(x, y) comparable keys of two scalars of one type, else None."""
    if a is None or b is None:
        return None
    ka, kb = next(iter(a)), next(iter(b))
    if ka != kb or ka not in ("S", "N", "B"):
        return None
    if ka == "N":
        return number(a["N"]), number(b["N"])
    if ka == "B":
        return base64.b64decode(a["B"]), base64.b64decode(b["B"])
    return a["S"].encode("utf-8"), b["S"].encode("utf-8")


def resolve(item, path_elems):
    cur = item.get(path_elems[0])
    for el in path_elems[1:]:
        if cur is None:
            return None
        if isinstance(el, int):
            lst = cur.get("L")
            cur = lst[el] if lst is not None and el < len(lst) else None
        else:
            m = cur.get("M")
            cur = m.get(el) if m is not None else None
    return cur


def _size(av):
    if av is None:
        return None
    kind = next(iter(av))
    if kind == "S":
        return len(av["S"].encode("utf-8"))
    if kind == "B":
        return len(base64.b64decode(av["B"]))
    if kind in ("SS", "NS", "BS", "L", "M"):
        return len(av[kind])
    return None


def operand_value(item, node):
    if node[0] == "value":
        return node[1]
    if node[0] == "path":
        return resolve(item, node[1])
    n = _size(resolve(item, node[1][1]))
    return None if n is None else {"N": str(n)}


def _compare(op, a, b):
    if op == "=":
        return equal(a, b)
    if op == "<>":
        # As the legacy NE operator: a missing or other-typed side differs.
        return not equal(a, b)
    pair = _ordered(a, b)
    if pair is None:
        return False
    x, y = pair
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _function(item, name, args):
    target = resolve(item, args[0][1])
    if name == "attribute_exists":
        return target is not None
    if name == "attribute_not_exists":
        return target is None
    other = operand_value(item, args[1])
    if name == "attribute_type":
        return target is not None and other is not None and \
            other.get("S") in ATTRIBUTE_TYPES and other["S"] in target
    if target is None or other is None:
        return False
    if name == "begins_with":
        pair = _ordered(target, other)
        return pair is not None and next(iter(target)) != "N" and \
            pair[0].startswith(pair[1])
    # contains
    kind = next(iter(target))
    if kind == "S":
        return "S" in other and other["S"] in target["S"]
    if kind in ("SS", "NS", "BS"):
        return any(equal({kind[0]: m}, other) for m in target[kind])
    if kind == "L":
        return any(equal(m, other) for m in target["L"])
    return False


def evaluate(item, node):
    """True when the condition holds for item (a dict, {} when absent)."""
    kind = node[0]
    if kind == "and":
        return evaluate(item, node[1]) and evaluate(item, node[2])
    if kind == "or":
        return evaluate(item, node[1]) or evaluate(item, node[2])
    if kind == "not":
        return not evaluate(item, node[1])
    if kind == "cmp":
        return _compare(node[1], operand_value(item, node[2]),
                        operand_value(item, node[3]))
    if kind == "between":
        v = operand_value(item, node[1])
        return _compare(">=", v, operand_value(item, node[2])) and \
            _compare("<=", v, operand_value(item, node[3]))
    if kind == "in":
        v = operand_value(item, node[1])
        return any(equal(v, operand_value(item, o)) for o in node[2])
    return _function(item, node[1], node[2])


# -- updates -----------------------------------------------------------------

def _path_text(elems):
    return "[" + ", ".join(str(e) for e in elems) + "]"


def _overlap(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def check_paths(clauses, key_names):
    """AWS's static checks: no two actions on overlapping paths, no action
    on a key attribute."""
    paths = [p[1] for items in clauses.values() for p, _ in items]
    for i, a in enumerate(paths):
        if a[0] in key_names:
            raise ExprError("One or more parameter values were invalid: "
                            "Cannot update attribute %s. This attribute is "
                            "part of the key" % a[0])
        for b in paths[i + 1:]:
            if _overlap(a, b):
                raise ExprError(
                    "Invalid UpdateExpression: Two document paths overlap "
                    "with each other; must remove or rewrite one of these "
                    "paths; path one: %s, path two: %s"
                    % (_path_text(a), _path_text(b)))


def _missing_operand():
    return ExprError("The provided expression refers to an attribute that "
                     "does not exist in the item")


def _wrong_type(what):
    return ExprError("An operand in the update expression has an incorrect "
                     "data type" + what)


def _term(item, node):
    if node[0] == "if_not_exists":
        cur = resolve(item, node[1][1])
        return cur if cur is not None else _term(item, node[2])
    if node[0] == "list_append":
        a, b = _term(item, node[1]), _term(item, node[2])
        if "L" not in a or "L" not in b:
            raise _wrong_type("")
        return {"L": a["L"] + b["L"]}
    v = operand_value(item, node)
    if v is None:
        raise _missing_operand()
    return v


def set_value(item, node):
    if node[0] in ("+", "-"):
        a, b = _term(item, node[1]), _term(item, node[2])
        if "N" not in a or "N" not in b:
            raise _wrong_type("")
        x, y = number(a["N"]), number(b["N"])
        return {"N": number_text(x + y if node[0] == "+" else x - y)}
    return _term(item, node)


def _container(item, elems):
    """The dict or list that holds the last element of a path, or None."""
    if len(elems) == 1:
        return item
    parent = resolve(item, elems[:-1])
    if parent is None:
        return None
    if isinstance(elems[-1], int):
        return parent.get("L")
    return parent.get("M")


def _assign(item, elems, value):
    box = _container(item, elems)
    last = elems[-1]
    if box is None or (isinstance(last, int) != isinstance(box, list)):
        raise ExprError("The document path provided in the update expression "
                        "is invalid for update")
    if isinstance(box, list):
        if last >= len(box):
            box.append(value)
        else:
            box[last] = value
    else:
        box[last] = value


def _remove(item, elems):
    box = _container(item, elems)
    last = elems[-1]
    if isinstance(box, list) and isinstance(last, int):
        if last < len(box):
            del box[last]
    elif isinstance(box, dict) and not isinstance(last, int):
        box.pop(last, None)


def apply_update(old, clauses):
    """A new item: every right-hand side is read from old (AWS evaluates
    them all before writing)."""
    new = copy.deepcopy(old)
    computed = []
    for p, node in clauses.get("SET", []):
        computed.append((p[1], set_value(old, node)))
    for p, node in clauses.get("ADD", []):
        computed.append((p[1], _add_value(resolve(old, p[1]), node[1])))
    for p, node in clauses.get("DELETE", []):
        computed.append((p[1], _delete_value(resolve(old, p[1]), node[1])))
    for elems, value in computed:
        if value is None:
            _remove(new, elems)
        else:
            _assign(new, elems, value)
    for p, _ in clauses.get("REMOVE", []):
        _remove(new, p[1])
    return new


def _add_value(cur, value):
    kind = next(iter(value))
    if kind == "N":
        if cur is None:
            return value
        if "N" not in cur:
            raise _wrong_type("")
        return {"N": number_text(number(cur["N"]) + number(value["N"]))}
    if kind in ("SS", "NS", "BS"):
        if cur is None:
            return value
        if kind not in cur:
            raise _wrong_type("")
        merged = list(cur[kind])
        have = _set_members(cur)
        for m in value[kind]:
            key = number(m) if kind == "NS" else m
            if key not in have:
                merged.append(m)
                have.add(key)
        return {kind: merged}
    raise _wrong_type("; operator: ADD, operand type: %s" % kind)


def _delete_value(cur, value):
    kind = next(iter(value))
    if kind not in ("SS", "NS", "BS"):
        raise _wrong_type("; operator: DELETE, operand type: %s" % kind)
    if cur is None:
        return None
    if kind not in cur:
        raise _wrong_type("")
    drop = _set_members(value)
    kept = [m for m in cur[kind]
            if (number(m) if kind == "NS" else m) not in drop]
    return {kind: kept} if kept else None


def updated_names(clauses):
    """Top-level attribute names an update touches (UPDATED_OLD/NEW)."""
    return {p[1][0] for items in clauses.values() for p, _ in items}
