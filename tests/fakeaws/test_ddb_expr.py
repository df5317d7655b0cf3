"""DynamoDB expressions without a server: parser, evaluation, updates."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ddb_expr  # noqa: E402
from ddb_expr import ExprError, Parser  # noqa: E402

ITEM = {"name": {"S": "spec-a"}, "holder": {"S": "r1"}, "rvn": {"S": "v1"},
        "n": {"N": "10"}, "ok": {"BOOL": True}, "gone": {"NULL": True},
        "m": {"M": {"x": {"N": "1"}, "l": {"L": [{"S": "a"}, {"S": "b"}]}}},
        "tags": {"SS": ["a", "b"]}}


def parse(src, names=None, values=None, kind="condition"):
    used_n, used_v = set(), set()
    p = Parser(src, "ConditionExpression" if kind == "condition"
               else "UpdateExpression", names, values, used_n, used_v)
    node = p.condition() if kind == "condition" else p.update()
    return node, used_n, used_v


def holds(src, names=None, values=None, item=ITEM):
    return ddb_expr.evaluate(item, parse(src, names, values)[0])


class Tokenizer(unittest.TestCase):
    def test_kinds(self):
        toks = ddb_expr.tokenize("#a.b[3] <= :v AND size(x)", "X")
        self.assertEqual([(t.kind, t.text) for t in toks], [
            ("ATTR", "#a"), ("PUNCT", "."), ("IDENT", "b"), ("PUNCT", "["),
            ("INT", "3"), ("PUNCT", "]"), ("PUNCT", "<="), ("VALUE", ":v"),
            ("IDENT", "AND"), ("IDENT", "size"), ("PUNCT", "("),
            ("IDENT", "x"), ("PUNCT", ")"), ("EOF", "<EOF>")])

    def test_bad_character(self):
        with self.assertRaisesRegex(ExprError, 'Invalid X: Syntax error; '
                                    'token: "\\$"'):
            ddb_expr.tokenize("a = $b", "X")


class Conditions(unittest.TestCase):
    V = {":r1": {"S": "r1"}, ":r2": {"S": "r2"}, ":ten": {"N": "10.0"},
         ":nine": {"N": "9"}, ":t": {"BOOL": True}, ":s": {"S": "spec"},
         ":ty": {"S": "SS"}}

    def check(self, src, expected, names=None):
        self.assertEqual(holds(src, names, self.V), expected, src)

    def test_exists_functions(self):
        self.check("attribute_exists(holder)", True)
        self.check("attribute_not_exists(holder)", False)
        self.check("attribute_not_exists(#n)", False, {"#n": "name"})
        self.check("attribute_exists(gone)", True)     # NULL exists
        self.check("attribute_exists(m.x)", True)
        self.check("attribute_exists(m.l[1])", True)
        self.check("attribute_exists(m.l[2])", False)
        self.assertTrue(holds("attribute_not_exists(#n)", {"#n": "name"},
                              item={}))

    def test_comparisons(self):
        self.check("holder = :r1", True)
        self.check("holder <> :r1", False)
        self.check("holder <> :r2", True)
        self.check("n = :ten", True)        # numbers compare as numbers
        self.check("n > :nine", True)
        self.check("n >= :ten", True)
        self.check("n < :ten", False)
        self.check("n <= :nine", False)
        self.check("holder < :r2", True)
        self.check("ok = :t", True)
        self.check("holder > :nine", False)  # other types never order
        self.check("absent = :r1", False)
        self.check("absent <> :r1", True)
        self.check("n BETWEEN :nine AND :ten", True)
        self.check("holder IN (:r2, :r1)", True)
        self.check("holder IN (:r2)", False)

    def test_other_functions(self):
        self.check("begins_with(#n, :s)", True, {"#n": "name"})
        self.check("contains(tags, :r1)", False)
        self.check("attribute_type(tags, :ty)", True)
        self.check("size(tags) = :nine", False)

    def test_logic_and_precedence(self):
        self.check("holder = :r2 OR holder = :r1 AND n = :ten", True)
        self.check("(holder = :r2 OR holder = :r1) AND n = :nine", False)
        self.check("NOT holder = :r2", True)
        self.check("NOT (holder = :r1 AND n = :ten)", False)
        self.check("not attribute_exists(x) and (ok = :t or n < :nine)",
                   True)
        node = parse("a = :r1 OR b = :r1 AND c = :r1", values=self.V)[0]
        self.assertEqual(node[0], "or")
        self.assertEqual(node[2][0], "and")

    def test_used_names_and_values(self):
        _, n, v = parse("#a = :r1 AND attribute_exists(#b)",
                        {"#a": "x", "#b": "y", "#c": "z"}, self.V)
        self.assertEqual(n, {"#a", "#b"})
        self.assertEqual(v, {":r1"})

    def test_errors(self):
        cases = [
            ("holder = ", "Syntax error; token: <EOF>"),
            ("holder == :r1", 'Syntax error; token: "="'),
            ("(holder = :r1", "Syntax error; token: <EOF>"),
            ("holder = :r1 AND", "Syntax error; token: <EOF>"),
            ("holder = :r1 :r2", 'Syntax error; token: ":r2"'),
            ("holder", "Syntax error; token: <EOF>"),
            ("#x = :r1", "An expression attribute name used in the document "
                         "path is not defined; attribute name: #x"),
            ("holder = :zz", "An expression attribute value used in "
                             "expression is not defined; attribute value: "
                             ":zz"),
            ("name = :r1", "Attribute name is a reserved keyword; reserved "
                           "keyword: name"),
            ("Attribute_Exists(holder)", "Invalid function name; function: "
                                         "Attribute_Exists"),
            ("attribute_exists(holder, :r1)", "Incorrect number of operands"),
            ("attribute_exists(:r1)", "requires a document path"),
            ("m.l[x] = :r1", 'Syntax error; token: "x"'),
        ]
        for src, msg in cases:
            with self.subTest(src=src):
                with self.assertRaises(ExprError) as cm:
                    parse(src, None, self.V)
                self.assertIn(msg, str(cm.exception))
                self.assertTrue(str(cm.exception).startswith(
                    "Invalid ConditionExpression: "), str(cm.exception))


class Updates(unittest.TestCase):
    V = {":h": {"S": "r2"}, ":one": {"N": "1"}, ":zero": {"N": "0"},
         ":l": {"L": [{"S": "c"}]}, ":ss": {"SS": ["c", "a"]}}

    def apply(self, src, item=ITEM, names=None):
        clauses = parse(src, names, self.V, kind="update")[0]
        ddb_expr.check_paths(clauses, {"name"})
        return ddb_expr.apply_update(item, clauses)

    def test_set_remove(self):
        new = self.apply("SET holder = :h, rvn = :one REMOVE ok, gone")
        self.assertEqual(new["holder"], {"S": "r2"})
        self.assertEqual(new["rvn"], {"N": "1"})
        self.assertNotIn("ok", new)
        self.assertNotIn("gone", new)
        self.assertEqual(ITEM["holder"], {"S": "r1"})   # old untouched

    def test_arithmetic_and_functions(self):
        new = self.apply("SET n = n + :one, c = if_not_exists(c, :zero) - "
                         ":one, holder = if_not_exists(holder, :h)")
        self.assertEqual(new["n"], {"N": "11"})
        self.assertEqual(new["c"], {"N": "-1"})
        self.assertEqual(new["holder"], {"S": "r1"})
        new = self.apply("SET m.l = list_append(m.l, :l), m.y = :one")
        self.assertEqual([x["S"] for x in new["m"]["M"]["l"]["L"]],
                         ["a", "b", "c"])
        self.assertEqual(new["m"]["M"]["y"], {"N": "1"})

    def test_right_sides_read_the_old_item(self):
        new = self.apply("SET n = :one, x = n")
        self.assertEqual(new["x"], {"N": "10"})

    def test_add_delete(self):
        new = self.apply("ADD n :one, tags :ss")
        self.assertEqual(new["n"], {"N": "11"})
        self.assertEqual(sorted(new["tags"]["SS"]), ["a", "b", "c"])
        new = self.apply("DELETE tags :ss")
        self.assertEqual(new["tags"], {"SS": ["b"]})

    def test_errors(self):
        cases = [
            ("SET holder = :h SET rvn = :h", 'The "SET" section can only be '
                                             'used once'),
            ("SET holder = :h, holder = :one", "Two document paths overlap"),
            ("SET m = :h REMOVE m.x", "Two document paths overlap"),
            ("SET name = :h", "reserved keyword: name"),
            ("SET #k = :h", "Cannot update attribute name. This attribute "
                            "is part of the key"),
            ("SET holder = holder + :one", "incorrect data type"),
            ("SET x = absent", "refers to an attribute that does not exist"),
            ("SET a.b = :h", "document path provided in the update "
                             "expression is invalid"),
            ("UPSERT holder = :h", 'Syntax error; token: "UPSERT"'),
            ("SET holder :h", 'Syntax error; token: ":h"'),
            ("REMOVE", "Syntax error; token: <EOF>"),
            ("SET holder = nope(:h)", "Invalid function name; function: "
                                      "nope"),
        ]
        for src, msg in cases:
            with self.subTest(src=src):
                with self.assertRaises(ExprError) as cm:
                    self.apply(src, names={"#k": "name"})
                self.assertIn(msg, str(cm.exception))


class Numbers(unittest.TestCase):
    def test_canonical_text(self):
        for text, want in [("1.50", "1.5"), ("1e2", "100"), ("-0", "0"),
                           ("007", "7"), ("0.000100", "0.0001")]:
            self.assertEqual(ddb_expr.number_text(ddb_expr.number(text)),
                             want)
        for bad in ("x", "1e", "NaN", "Infinity"):
            with self.assertRaises(ExprError):
                ddb_expr.number(bad)


if __name__ == "__main__":
    unittest.main()
