#!/usr/bin/env python3
"""Regenerates the reference renderings the C# chat-template tests compare against.

Reproduces Hugging Face transformers' apply_chat_template environment (ImmutableSandboxedEnvironment with
trim_blocks, lstrip_blocks and loopcontrols, the AssistantTracker `generation` block, its tojson, raise_exception
and strftime_now) with jinja2 only, because transformers itself is not installable here. The clock is fixed at
2026-07-04 12:00:00 (naive local time) so the expected texts are reproducible.

Usage: python3 generate.py [path/to/shared/chat-templates]
Writes cases.json (real templates x conversations) and snippets.json (small templates probing single features).
"""
import copy
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_NOW = datetime(2026, 7, 4, 12, 0, 0)
HERE = os.path.dirname(os.path.abspath(__file__))


class AssistantTracker(Extension):
    """transformers' `{% generation %}` block, minus the index bookkeeping: it renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context, caller):
        return caller()


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return FIXED_NOW.strftime(format)


def environment():
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = environment()


def render(source, variables):
    """Renders like transformers: {"expected": text} or {"error": message, "errorKind": kind[, "line": n]}."""
    try:
        return {"expected": ENV.from_string(source).render(**variables)}
    except jinja2.TemplateSyntaxError as e:
        return {"error": e.message, "errorKind": "syntax", "line": e.lineno}
    except TemplateError as e:
        kind = "raise" if type(e) is TemplateError else type(e).__name__
        return {"error": str(e), "errorKind": kind}
    except Exception as e:  # Python-level errors inside the template (TypeError, ...)
        return {"error": str(e), "errorKind": type(e).__name__}


TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "The city name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit",
                     "default": "celsius"},
            "days": {"type": "integer", "description": "Forecast days", "default": 1}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "search",
        "description": "Search the web for \"anything\" — fast.",
        "parameters": {"type": "object", "properties": {
            "query": {"type": "string", "description": "What to look for"},
            "limit": {"type": "number", "default": 2.5},
            "tags": {"type": "array", "items": {"type": "string"}},
            "safe": {"type": "boolean"}},
            "required": ["query", "tags"]}}},
]

SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer briefly."}

CONVERSATIONS = {
    "single_user": {"messages": [{"role": "user", "content": "Hello!"}]},
    "system_user": {"messages": [SYSTEM, {"role": "user", "content": "What is 2+2?"}]},
    "multi_turn": {"messages": [
        SYSTEM,
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3? Café, naïve, 😀, \"quotes\" and 'apostrophes'.\n  Indented\tline."}]},
    "no_system": {"messages": [
        {"role": "user", "content": "  Hi there  "},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."}]},
    "content_parts": {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "Describe "}, {"type": "text", "text": "this."}]}]},
    "reasoning": {"messages": [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "<think>\nSimple addition.\n</think>\n\nIt is 4."},
        {"role": "user", "content": "Thanks."}]},
    "tool_calls": {"tools": TOOLS, "messages": [
        SYSTEM,
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "abc123def", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius", "days": 2}}}]},
        {"role": "tool", "tool_call_id": "abc123def", "name": "get_weather",
         "content": "{\"temperature\": 22.5, \"condition\": \"sunny\"}"},
        {"role": "assistant", "content": "It is 22.5 °C and sunny in Paris."},
        {"role": "user", "content": "Thanks!"}]},
    "tool_calls_string_args": {"tools": TOOLS, "messages": [
        {"role": "user", "content": "Search for cats."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "xyz987uvw", "type": "function",
             "function": {"name": "search", "arguments": "{\"query\": \"cats\", \"tags\": []}"}}]},
        {"role": "tool", "tool_call_id": "xyz987uvw", "content": "Cats are great."}]},
}

# Realistic special tokens (tokenizer_config.json of each model); None = not set, so undefined in the template.
TEMPLATES = {
    "HuggingFaceTB-SmolLM3-3B.jinja": (None, "<|im_end|>", [{}, {"enable_thinking": True}, {"enable_thinking": False}]),
    "Mistral-Small-3.2-24B-Instruct-2506.jinja": ("<s>", "</s>", [{}]),
    "Qwen-Qwen2.5-7B-Instruct.jinja": (None, "<|im_end|>", [{}]),
    "Qwen-Qwen3-0.6B.jinja": (None, "<|im_end|>", [{}, {"enable_thinking": True}, {"enable_thinking": False}]),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", [{}]),
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>",
                                                       [{}, {"enable_thinking": False}]),
    "google-gemma-2-2b-it.jinja": ("<bos>", "<eos>", [{}]),
    "ibm-granite-granite-3.3-2B-Instruct.jinja": ("<|end_of_text|>", "<|end_of_text|>", [{}, {"thinking": True}]),
    "meta-llama-Llama-3.1-8B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>",
                                               [{}, {"builtin_tools": ["brave_search", "wolfram_alpha"]}]),
    "microsoft-Phi-3.5-mini-instruct.jinja": ("<s>", "<|endoftext|>", [{}]),
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": ("<s>", "</s>", [{}]),
    "openai-gpt-oss-120b.jinja": ("<|startoftext|>", "<|return|>",
                                  [{}, {"reasoning_effort": "high", "builtin_tools": ["browser", "python"]}]),
}


def cases(template_dir):
    out = []
    for template, (bos, eos, extras) in TEMPLATES.items():
        with open(os.path.join(template_dir, template), encoding="utf-8", newline="") as f:
            source = f.read()
        for conversation_name, conversation in CONVERSATIONS.items():
            for extra in extras:
                for add_generation_prompt in (False, True):
                    case_input = {"messages": conversation["messages"], "add_generation_prompt": add_generation_prompt,
                                  "bos_token": bos, "eos_token": eos, "tools": conversation.get("tools"),
                                  "extra": extra}
                    variables = {"messages": copy.deepcopy(conversation["messages"]),
                                 "tools": copy.deepcopy(conversation.get("tools")), "documents": None,
                                 "add_generation_prompt": add_generation_prompt}
                    for name, token in (("bos_token", bos), ("eos_token", eos)):
                        if token is not None:
                            variables[name] = token
                    variables.update(copy.deepcopy(extra))
                    suffix = "".join(f",{k}={json.dumps(v)}" for k, v in extra.items())
                    out.append({"template": template,
                                "name": f"{conversation_name}{suffix},agp={str(add_generation_prompt).lower()}",
                                "input": case_input, **render(source, variables)})
    return out


# Small templates, each probing one feature; variables are passed as-is.
SNIPPETS = [
    ("{{ 'x' }}\n  {% if true %}\n  a\n  {% endif %}\n  {{- 'b' }}  \n  {# c #}\n  d\n", {}),
    ("a  {%- if true -%}  b  {%- endif -%}  c", {}),
    ("  {%+ if true %}x{% endif +%}\ny", {}),
    ("line\n    {% for i in [1, 2] %}\n    {{ i }}\n    {% endfor %}\nend", {}),
    ("{# comment #}\nnext\n{#- trimmed -#}   \n  after", {}),
    ("a\r\nb\rc\n", {}),
    ("x\n\n", {}),
    ("{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = i + 10 %}{% endfor %}{{ x }}", {}),
    ("{% for i in range(3) %}{% if i > 0 %}{{ y }}{% endif %}{% set y = i %}{% endfor %}|{{ y }}", {}),
    ("{% if true %}{% set z = 5 %}{% endif %}{{ z }}", {}),
    ("{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
     "{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('a', 'b') }};"
     "{% endfor %}", {"items": ["p", "q", "r"]}),
    ("{% for x in [1, 2, 3, 4, 5] if x is odd %}{{ loop.index }}:{{ x }}/{{ loop.length }} {% else %}none"
     "{% endfor %}", {}),
    ("{% for x in [] %}x{% else %}empty{% endfor %}", {}),
    ("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}"
     "{% endfor %}", {}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", {"d": {"b": 1, "a": [1, 2]}}),
    ("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {}),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = (3, 4) %}{{ c }}", {}),
    ("{% set ns = namespace(n=0, s='') %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", {}),
    ("{% set ns = namespace() %}{% set ns.x = 'v' %}{{ ns.x }}", {}),
    ("{% set body %}inner {{ 1 + 1 }}{% endset %}[{{ body }}]", {}),
    ("{% macro m(a, b=2, c='z') %}[{{ a }}{{ b }}{{ c }}]{% endmacro %}{{ m(1) }}{{ m(1, 3) }}{{ m(a=5, c='q') }}"
     "{{ m(1) ~ 'x' }}{{ m(1)|length }}", {}),
    ("{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}", {}),
    ("{% set g = 'outer' %}{% macro m() %}{% set g = 'inner' %}{{ g }}{% endmacro %}{{ m() }}{{ g }}", {}),
    ("{% generation %}gen {{ 1 }}{% endgeneration %}", {}),
    ("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 10 / 4 }}"
     " {{ 10 / 2 }} {{ 1.5 + 1 }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ [0] * 2 }} {{ 1 ~ 'a' ~ none }} {{ -3|abs }}"
     " {{ 2 ** 3 ** 2 }} {{ 5.0 // 2 }} {{ 5.5 % 2 }} {{ true + 1 }}", {}),
    ("{{ 1.0 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1/3 }} {{ 2/3 }} {{ 0.1 + 0.2 }}"
     " {{ 123456789.123 }} {{ -0.0 }} {{ 1_000 }} {{ 1.5e3 }} {{ 3.0e-7 }} {{ 100.0 * 3 }}", {}),
    ("{{ none }} {{ true }} {{ false }} {{ True }} {{ None }} {{ [1, 'a', none, true, 1.5, [2]] }}"
     " {{ {'a': 1, 'b': 'x\\'y'} }} {{ (1, 2) }} {{ (1,) }} {{ 'it\\'s' }} {{ \"q\\\"x\" }} {{ 'a' 'b' }}", {}),
    ("{{ 'tab\\there' }}|{{ 'nl\\nx' }}|{{ '\\u00e9\\x41' }}|{{ 'back\\\\slash' }}|{{ 'keep\\d' }}", {}),
    ("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ [1, 2] == [1, 2] }} {{ {'a': 1} == {'a': 1} }}"
     " {{ 2 in [1, 2] }} {{ 'b' in 'abc' }} {{ 'k' in {'k': 1} }} {{ 'x' not in 'abc' }} {{ not 1 }}", {}),
    ("{{ 0 or 'x' }} {{ 1 and 'y' }} {{ '' and 'z' }} {{ none or [] }} {{ 'a' if false }}|{{ 'a' if 0 else 'b' }}", {}),
    ("{{ s[1:] }} {{ s[::-1] }} {{ s[:-1] }} {{ s[-1] }} {{ l[1:3] }} {{ l[::2] }} {{ l[-2:] }} {{ s[10:] }}|",
     {"s": "hello", "l": [1, 2, 3, 4, 5]}),
    ("{{ d.a }} {{ d['a'] }} {{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 7) }} {{ d.items()|list }}"
     " {{ d.keys()|list }} {{ d.values()|list }} {{ l.0 }} {{ d.missing }}|", {"d": {"a": 1, "b": 2}, "l": [9, 8]}),
    ("{{ undefined_var }}|{{ undefined_var is defined }}|{{ undefined_var is undefined }}|{{ undefined_var|length }}"
     "|{{ undefined_var|string }}|{{ 'a' in undefined_var }}|{% for x in undefined_var %}no{% endfor %}|"
     "{{ undefined_var|default('dflt') }}|{{ undefined_var is none }}|{{ undefined_var == undefined_var }}"
     "|{{ not undefined_var }}|{{ undefined_var ~ 'c' }}|{{ undefined_var is string }}"
     "|{{ undefined_var is iterable }}|{{ undefined_var is sequence }}|{{ undefined_var is mapping }}", {}),
    ("{{ foo.bar }}", {}),
    ("{{ d.missing.x }}", {"d": {}}),
    ("{{ d['missing']['x'] }}", {"d": {}}),
    ("{{ l[5].x }}", {"l": [1]}),
    ("{{ undefined_thing + 'a' }}", {}),
    ("{{ none.x }}|{{ 5 .x }}|{{ 'str'.nope }}|", {}),
    ("{{ none.x.y }}", {}),
    ("{{ 'str'.nope.y }}", {}),
    ("{{ [1, 2].append(3) }}", {}),
    ("{{ d.update({}) }}", {"d": {}}),
    ("{{ raise_exception('Boom at ' ~ 3) }}", {}),
    ("before\n{% if x %}\n{{ raise_exception('inner') }}{% endif %}", {"x": True}),
    ("{{ 'a' + 1 }}", {}),
    ("{{ x|tojson }} {{ y|tojson }} {{ z|tojson }} {{ n|tojson }} {{ f|tojson }} {{ b|tojson }} {{ s|tojson }}",
     {"x": {"a": [1, 2.5, None, True, "é\n\u2028\x01\"\\/\t\x7f😀"], "b": {}}, "y": [], "z": "plain", "n": None,
      "f": 1e22, "b": False, "s": "<tag> & 'q'"}),
    ("{{ x|tojson(indent=4) }}|{{ x|tojson(indent=2, sort_keys=true) }}|{{ x|tojson(separators=(',', ':')) }}"
     "|{{ [] | tojson(indent=2) }}|{{ {} | tojson(indent=2) }}", {"x": {"b": [1, {"c": []}], "a": {}, "e": "x"}}),
    ("{{ '  x  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ [1, 2, 3]|length }}|{{ 'abc'|count }}|{{ [4, 5]|first }}"
     "|{{ [4, 5]|last }}|{{ 'hey'|first }}|{{ [1, 2]|join('-') }}|{{ ['a', 'b']|join }}|{{ none|default('d') }}"
     "|{{ ''|default('e', true) }}|{{ ''|d('f', boolean=true) }}|{{ 0|default(1) }}", {}),
    ("{{ 'hello world'|upper }}|{{ 'HeLLo'|lower }}|{{ 'hello wORLD-foo(bar'|title }}|{{ 'hELLO wORLD'|capitalize }}"
     "|{{ 'aaa'|replace('a', 'b', 2) }}|{{ 12|string }}|{{ '42'|int }}|{{ '4.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(-1) }}"
     "|{{ 3.9|int }}|{{ '2.5'|float }}|{{ 3|float }}|{{ 'ab'|list }}|{{ true|string }}", {}),
    ("{{ d|items|list }}|{{ l|map(attribute='n')|list }}|{{ ['a', 'b']|map('upper')|join }}"
     "|{{ l|selectattr('n', 'equalto', 2)|list }}|{{ l|rejectattr('n', 'equalto', 2)|map(attribute='n')|list }}"
     "|{{ [1, 2, 3, 4]|select('odd')|list }}|{{ [1, 2, 3, 4]|reject('even')|list }}|{{ [0, 1, '', 'a']|select|list }}"
     "|{{ l|selectattr('flag')|list }}|{{ ['b', 'A', 'a', 'c']|unique|list }}|{{ [3, 1, 2]|sort }}"
     "|{{ ['b', 'A', 'c']|sort }}|{{ [3, 1, 2]|sort(reverse=true) }}|{{ l|sort(attribute='n', reverse=true)|map(attribute='n')|list }}"
     "|{{ [1, 2]|reverse|list }}|{{ 'abc'|reverse }}",
     {"d": {"x": 1, "y": 2}, "l": [{"n": 1, "flag": True}, {"n": 2}, {"n": 3, "flag": False}]}),
    ("{{ 'a\nb\n\nc'|indent }}|{{ 'a\nb'|indent(2, true) }}|{{ 'a\n\nb'|indent(2, blank=true) }}"
     "|{{ 'one two  three'|wordcount }}|{{ -2.5|abs }}|{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ 3.5|round }}"
     "|{{ 2.4|round(0, 'ceil') }}|{{ 2.6|round(method='floor') }}|{{ [1, 2, 3]|sum }}|{{ [1.5, 2]|sum(start=1) }}"
     "|{{ [3, 1, 2]|min }}|{{ [3, 1, 2]|max }}|{{ ['b', 'A']|min }}|{{ {'b': 1, 'a': 2}|dictsort }}"
     "|{{ [1, 2, 3, 4, 5]|batch(2)|list }}|{{ [1, 2, 3]|batch(2, 'x')|list }}|{{ 'ab'|center(6) }}|"
     "{{ '%s-%d'|format('a', 3) }}|{{ '<a href=\"x\">&\\'</a>'|escape }}|{{ '<b>'|e }}|{{ '<i>'|safe }}", {}),
    ("{{ x is string }}{{ x is number }}{{ 1 is integer }}{{ 1.0 is integer }}{{ 1.0 is float }}{{ true is boolean }}"
     "{{ true is number }}{{ true is integer }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is iterable }}"
     "{{ [] is sequence }}{{ 'a' is sequence }}{{ {} is sequence }}{{ 1 is iterable }}{{ none is none }}"
     "{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}"
     "{{ 9 is divisibleby(4) }}{{ 1 is eq 1 }}{{ 1 is equalto 2 }}{{ 1 is ne 2 }}{{ 3 is gt 2 }}{{ 3 is ge 3 }}"
     "{{ 1 is lt 2 }}{{ 2 is le 1 }}{{ 2 is in [1, 2] }}{{ 'ab' is lower }}{{ 'AB' is upper }}{{ range is callable }}"
     "{{ 'x' is callable }}{{ x is not none }}{{ x is sameas x }}", {"x": "str"}),
    ("{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n\\na'.lstrip('\\n') }}|{{ 'a  '.rstrip() }}"
     "|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}"
     "|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'hello world'.title() }}"
     "|{{ 'hELLO'.capitalize() }}|{{ 'aXa'.replace('a', 'b') }}|{{ 'abcabc'.find('c') }}|{{ 'abc'.find('z') }}"
     "|{{ 'abcabc'.count('b') }}|{{ '{} and {}'.format(1, 'x') }}|{{ '{0}{name}'.format('p', name='n') }}"
     "|{{ '-'.join(['a', 'b']) }}|{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ 'ABC'.lower() }}|{{ 'abc'.upper() }}"
     "|{{ [1, 2, 1].count(1) }}|{{ [1, 2, 3].index(2) }}|{{ 'abc'.rfind('c') }}|{{ '12'.isdigit() }}", {}),
    ("{{ 'a' if x is defined else 'b' }}{{ x.y if x is mapping else 'n' }}", {"x": {"y": 1}}),
    ("{{ strftime_now('%Y-%m-%d %H:%M:%S %B %b %A %a %d %j %p %I %y %m') }}", {}),
    ("{{ range(3)|list }}{{ range(1, 7, 2)|list }}{{ range(5, 0, -2)|list }}{{ dict(a=1, b=2) }}", {}),
    ("{{ x }}", {"x": 1.5}),
    ("{{ messages[0].content }}{{ messages|length }}", {"messages": [{"role": "user", "content": "c"}]}),
    ("{{ l|join(', ') }}|{{ l }}|{{ d }}", {"l": [1, 2.0, "x", None, True], "d": {"k": [1, "v"], "n": None}}),
    ("{% if x %}\n  yes\n{% elif y %}\n  maybe\n{% else %}\n  no\n{% endif %}", {"x": False, "y": True}),
    ("{%- set d = {'a': 1, 'b': [1, 2]} -%}{{ d.b[1] }}{{ d['a'] }}{{ {'x': d}.x.a }}", {}),
    ("{{ (1 if true else 2) + 1 }}{{ -x|abs }}{{ not x is defined }}{{ (x|string)|length }}", {"x": 5}),
    ("{{ x|string + 'a' }}{{ x|tojson|length }}{{ ('a' ~ 1)|upper }}", {"x": 12}),
    ("{{ 1 / 0 }}", {}),
    ("{% if %}", {}),
    ("{% for x in %}{% endfor %}", {}),
    ("line1\nline2\n{{ 1 + }}", {}),
    ("{% if true %}\nunclosed", {}),
    ("{{ 'unterminated }}", {}),
    ("{% endfor %}", {}),
    ("a\n{% frobnicate %}", {}),
    ("{{ x | nosuchfilter }}", {"x": 1}),
    ("{{ x is nosuchtest }}", {"x": 1}),
    ("{{ [1, 2] | join(',') }} {{ x.y.z }}", {"x": {"y": {"z": "deep"}}}),
    ("{{ l[0][1] }}{{ l[-1][-1] }}", {"l": [[1, 2], [3, 4]]}),
    ("{% for m in msgs %}{{ m.role }}{% if not loop.last %},{% endif %}{% endfor %}",
     {"msgs": [{"role": "a"}, {"role": "b"}]}),
    ("{{ x == y }}{{ x != z }}", {"x": {"a": [1, {"b": 2}]}, "y": {"a": [1, {"b": 2}]}, "z": {"a": [1]}}),
    ("{{ 'abc'[5] }}", {}),
    ("{{ n[1:] }}", {"n": 5}),
    ("{{ 'yo' % 0 }}", {}),
    ("{{ '%s and %s'|format('a', 'b') }}|{{ '%(x)s!' % {'x': 1} }}|{{ '%05.1f' % 2.25 }}", {}),
    ("{{ d|indent(2) }}", {"d": {"k": 1}}),
    ("{{ u|int }}", {}),
    ("{{ true|round }}|{{ 3|round }}|{{ 2.675|round(2) }}", {}),
    ("{% set t | upper %}shout {{ 'it' }}{% endset %}{{ t }}|{% filter trim|upper %}  quiet  {% endfilter %}", {}),
    ("{% for a, b in {'x': 1}.items() %}{{ a }}{{ b }}{% endfor %}{% for (a, b) in [(1, 2)] %}{{ a * b }}{% endfor %}", {}),
    ("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", {}),
    ("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=1) }}", {}),
    ("{{ ns.missing }}|{% set ns = namespace(a=1) %}{{ ns.a }}{{ ns.b }}|{{ loop }}", {}),
    ("{% set x = 1 %}{% set x.y = 2 %}", {}),
    ("{{ 'é😀x'|length }}{{ 'é😀x'[1] }}{{ 'é😀x'[::-1] }}{{ 'é😀x'|list }}", {}),
    ("{{ 'Hello World'.swapcase() }}{{ 'a-b'.partition('-') }}{{ 'x'.zfill(3) }}{{ 'ab'.center(5, '*') }}", {}),
    ("{{ [1][5] }}", {}),
]


def snippets():
    out = []
    for source, variables in SNIPPETS:
        out.append({"source": source, "variables": variables, **render(source, copy.deepcopy(variables))})
    return out


def main():
    template_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, *[".."] * 4, "..", "shared",
                                                                          "chat-templates")
    with open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"jinja2": jinja2.__version__, "now": FIXED_NOW.isoformat(), "cases": cases(template_dir)}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "snippets.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"jinja2": jinja2.__version__, "now": FIXED_NOW.isoformat(), "snippets": snippets()}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
