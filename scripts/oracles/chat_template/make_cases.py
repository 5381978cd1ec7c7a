#!/usr/bin/env python3
"""Oracle for Tandem's chat-template renderer (gateway/text/template).

Renders every template in tests/data/chat_templates/*.jinja over a set of conversations with
Hugging Face transformers' own `render_jinja_template` (jinja2 ImmutableSandboxedEnvironment,
trim_blocks, lstrip_blocks, HF's tojson / raise_exception / strftime_now) and writes the
expected prompts to tests/data/chat_templates/cases.json. It also renders a list of small
interpreter snippets (one construct each) into snippets.json.

Before HF sees a conversation it is normalised exactly as Tandem's ChatTemplate does (SGLang's
OpenAI-server rules): null content -> "", other null keys dropped, content parts flattened to
the " "-joined text parts, JSON-string tool-call arguments parsed. strftime_now() is frozen at
FIXED_NOW so the output is deterministic; the C++ tests pass the same time.

Usage: /tmp/venv/bin/python scripts/oracles/chat_template/make_cases.py
"""

import copy
import datetime as _dt
import json
import pathlib
import sys

import jinja2
import transformers
from transformers.utils import chat_template_utils as ctu

ROOT = pathlib.Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "chat_templates"
FIXED_NOW = _dt.datetime(2024, 7, 26, 12, 0, 0)


class _FrozenDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


ctu.datetime = _FrozenDatetime  # strftime_now() looks the name up at call time

# ---------------------------------------------------------------- conversations

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"],
                             "description": "Temperature unit"},
                    "days": {"type": "integer", "description": "Forecast days", "default": 1},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web for a query.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                           "required": ["query"]},
        },
    },
]

SYSTEM = {"role": "system", "content": "You are a terse assistant."}
TOOL_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [{"id": "call12345", "type": "function",
                    "function": {"name": "get_weather",
                                 "arguments": "{\"city\": \"Paris\", \"unit\": \"celsius\"}"}}],
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "call12345", "content": "{\"temperature\": 22, \"sky\": \"clear\"}"}

CONVERSATIONS = {
    "user_only": [{"role": "user", "content": "Hello!"}],
    "system_user": [SYSTEM, {"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [SYSTEM, {"role": "user", "content": "What is 2+2?"},
                   {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}],
    "unicode": [{"role": "user",
                 "content": "Grüße — 日本語 🚀 \"quoted\" back\\slash\n  indented\ttab  "}],
    "content_parts": [{"role": "user", "content": [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": "http://example.com/cat.png"}},
        {"type": "text", "text": "this picture."}]}],
    "tool_call": [SYSTEM, {"role": "user", "content": "Weather in Paris?"}, TOOL_CALL, TOOL_RESULT],
    "tool_answer": [{"role": "user", "content": "Weather in Paris?"}, TOOL_CALL, TOOL_RESULT,
                    {"role": "assistant", "content": "It is 22°C and clear in Paris."},
                    {"role": "user", "content": "Thanks! And tomorrow?"}],
    "reasoning": [{"role": "user", "content": "Is 7 prime?"},
                  {"role": "assistant", "content": "Yes.", "reasoning_content": "7 has no divisors but 1 and 7."},
                  {"role": "user", "content": "Is 9?"}],
    "think_in_content": [{"role": "user", "content": "Is 7 prime?"},
                         {"role": "assistant", "content": "<think>\nCheck 2..6.\n</think>\n\nYes, 7 is prime."},
                         {"role": "user", "content": "Is 9?"}],
    "final_assistant": [SYSTEM, {"role": "user", "content": "What is 2+2?"},
                        {"role": "assistant", "content": "4"}],
    "continue": [{"role": "user", "content": "Write a haiku about autumn."},
                 {"role": "assistant", "content": "Crimson leaves drifting"}],
    "empty_content": [{"role": "user", "content": ""}],
}

# name -> (conversation, options)
CASES = {
    "user_only": ("user_only", {}),
    "system_user": ("system_user", {}),
    "multi_turn": ("multi_turn", {}),
    "unicode": ("unicode", {}),
    "content_parts": ("content_parts", {}),
    "tools_no_call": ("system_user", {"tools": TOOLS}),
    "tool_call": ("tool_call", {"tools": TOOLS}),
    "tool_answer": ("tool_answer", {"tools": TOOLS}),
    "reasoning": ("reasoning", {}),
    "think_in_content": ("think_in_content", {}),
    "no_generation_prompt": ("final_assistant", {"add_generation_prompt": False}),
    "continue_final_message": ("continue", {"add_generation_prompt": False, "continue_final_message": True}),
    "thinking_off": ("multi_turn", {"extra": {"enable_thinking": False}}),
    "thinking_on": ("system_user", {"extra": {"enable_thinking": True}}),
    "empty_content": ("empty_content", {}),
}

LLAMA3 = ("<|begin_of_text|>", "<|eot_id|>")
CHATML = ("", "<|im_end|>")
TEMPLATES = {
    # file: (bos, eos, case names or None for all)
    "smollm2.jinja": ("<|im_start|>", "<|im_end|>", None),
    "llama-3.1-8b-instruct.jinja": (*LLAMA3, None),
    "llama-3.2-3b-instruct.jinja": (*LLAMA3, None),
    "qwen2.5-7b-instruct.jinja": (*CHATML, None),
    "qwen3-0.6b.jinja": (*CHATML, None),
    "qwq-32b.jinja": (*CHATML, ["multi_turn", "tool_call", "think_in_content", "continue_final_message"]),
    "mistral-nemo-instruct-2407.jinja": ("<s>", "</s>", None),
    "mistral-small-3.2-24b-instruct-2506.jinja": ("<s>", "</s>", ["system_user", "multi_turn", "tool_answer",
                                                                  "user_only"]),
    "deepseek-r1-distill-qwen-32b.jinja": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", None),
    "deepseek-v3.1.jinja": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>",
                            ["multi_turn", "tool_answer", "think_in_content", "thinking_on", "continue_final_message"]),
    "phi-3.5-mini-instruct.jinja": ("<s>", "<|endoftext|>", ["system_user", "multi_turn", "no_generation_prompt",
                                                            "unicode", "continue_final_message"]),
    "hermes-3-llama-3.1-8b-tool-use.jinja": ("<|begin_of_text|>", "<|im_end|>",
                                             ["system_user", "tool_call", "tool_answer"]),
    "gemma-2-2b-it.jinja": ("<bos>", "<eos>", ["user_only", "system_user", "multi_turn", "unicode",
                                               "continue_final_message"]),
    "gpt-oss-120b.jinja": ("<|startoftext|>", "<|return|>", ["system_user", "multi_turn", "tool_call",
                                                            "tool_answer", "reasoning", "no_generation_prompt"]),
    "granite-3.3-2b-instruct.jinja": ("", "<|end_of_text|>", ["user_only", "system_user", "tools_no_call",
                                                             "tool_answer", "thinking_on"]),
    "kimi-k2.jinja": ("[BOS]", "[EOS]", ["user_only", "multi_turn", "tool_answer", "content_parts"]),
    "command-r7b-12-2024-tool-use.jinja": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", ["multi_turn", "tool_answer"]),
    # Chosen for the constructs they exercise: integer dict keys + dictsort, Markup concatenation,
    # a filter Jinja only resolves when its `if` branch runs.
    "bytedance-seed-oss.jinja": ("<seed:bos>", "<seed:eos>", ["system_user", "tool_answer", "reasoning"]),
    "functionary-medium-v3.1.jinja": ("<|begin_of_text|>", "<|eot_id|>", ["tools_no_call", "tool_answer"]),
    "deepseek-v3.2.jinja": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", ["multi_turn", "tool_answer",
                                                                              "thinking_on"]),
}

# ---------------------------------------------------------------- normalisation (as Tandem's ChatTemplate)


def normalize(messages):
    out = []
    for m in messages:
        msg = {}
        for k, v in m.items():
            if k == "content":
                if v is None:
                    msg[k] = ""
                elif isinstance(v, list):
                    msg[k] = " ".join(p["text"] for p in v if isinstance(p, dict) and p.get("type") == "text"
                                      and "text" in p)
                else:
                    msg[k] = v
            elif k == "tool_calls" and isinstance(v, list):
                calls = []
                for call in v:
                    call = copy.deepcopy(call)
                    fn = call.get("function") if isinstance(call, dict) else None
                    if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                        try:
                            fn["arguments"] = json.loads(fn["arguments"])
                        except ValueError:
                            pass
                    calls.append(call)
                msg[k] = calls
            elif v is not None:
                msg[k] = v
            if k == "role" and "content" not in m:
                msg["content"] = ""  # SGLang's message model defaults content to None, then ""
        out.append(msg)
    return out


def render_case(source, messages, tools, add_generation_prompt, continue_final_message, bos, eos, extra):
    """Returns ("ok", text) or ("error", message)."""
    if add_generation_prompt and continue_final_message:
        return "error", "add_generation_prompt and continue_final_message cannot both be set"
    chat = normalize(messages)
    if continue_final_message and (not chat or chat[-1].get("role") != "assistant"):
        return "error", "continue_final_message needs the last message to be from the assistant"
    try:
        rendered, _ = ctu.render_jinja_template(
            conversations=[chat], tools=tools, chat_template=source,
            add_generation_prompt=add_generation_prompt, continue_final_message=continue_final_message,
            bos_token=bos, eos_token=eos, **extra)
        return "ok", rendered[0]
    except jinja2.exceptions.TemplateError as e:  # raise_exception() and template bugs
        return "error", str(e)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
        return "error", f"{type(e).__name__}: {e}"


def make_cases():
    cases = []
    for file, (bos, eos, wanted) in TEMPLATES.items():
        source = (DATA / file).read_text(encoding="utf-8")
        for name, (conv, opts) in CASES.items():
            if wanted is not None and name not in wanted:
                continue
            agp = opts.get("add_generation_prompt", True)
            cfm = opts.get("continue_final_message", False)
            tools = opts.get("tools")
            extra = opts.get("extra", {})
            status, text = render_case(source, CONVERSATIONS[conv], tools, agp, cfm, bos, eos, extra)
            case = {
                "template": file,
                "name": name,
                "messages_json": json.dumps(CONVERSATIONS[conv], ensure_ascii=False),
                "tools_json": json.dumps(tools, ensure_ascii=False) if tools is not None else "",
                "add_generation_prompt": agp,
                "continue_final_message": cfm,
                "bos_token": bos,
                "eos_token": eos,
                "extra_context_json": json.dumps(extra) if extra else "",
            }
            if status == "ok":
                case["expected"] = text
            else:
                case["error"] = text
            cases.append(case)
    return cases

# ---------------------------------------------------------------- interpreter snippets

D = {"d": {"a": 1, "b": [1, 2, {"c": "x"}], "items": "shadowed", "s": "Hello World"},
     "l": [3, 1, 2], "s": "  Hello, Wörld!  ", "n": None, "t": True, "f": 1.5,
     "users": [{"name": "ann", "age": 31, "role": "user"}, {"name": "Bob", "age": 25, "role": "admin"},
               {"name": "cy", "role": "user"}],
     "u": "日本語テキスト"}

SNIPPETS = [
    # whitespace control, trim_blocks, lstrip_blocks
    ("ws_trim", "a\n{% if true %}\n  b\n{% endif %}\nc", {}),
    ("ws_lstrip", "x\n    {% if true %}\n    y\n    {% endif %}\nz", {}),
    ("ws_minus", "  {%- if true -%}  x  {%- endif -%}  |", {}),
    ("ws_var_minus", "a  {{- 'b' -}}  c\n{{ 'd' }}\n", {}),
    ("ws_plus", "  {%+ if true %}k{% endif +%}\nafter", {}),
    ("ws_comment", "x {# a comment #} y\n   {# own line #}\nz {#- tight -#} w", {}),
    ("ws_for_lines", "{% for i in range(3) %}\n    {{ i }}\n{% endfor %}\n", {}),
    ("ws_trailing_newline", "text\n", {}),
    ("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", {}),
    ("raw_block", "{% raw %}{{ not evaluated }} {% if %}{% endraw %}!", {}),
    ("raw_minus", "a   {%- raw -%}   {{x}}   {%- endraw -%}   b", {}),
    ("nested_braces", "{{ {'a': {'b': 1}} }}|{{ {'k': [1, {'z': 2}]}['k'][1]['z'] }}", {}),
    # literals
    ("lit_strings", r"""{{ 'a\nb\t\x41\u00e9\'' }}|{{ "dq \"x\"" }}|{{ 'adj' "acent" }}|{{ '\d\q' }}""", {}),
    ("lit_numbers", "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 1.5e3 }} {{ 2.50 }} {{ 1e-7 }} {{ 3.0 }} {{ 1e22 }}", {}),
    ("lit_consts", "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }} {{ [] }} {{ () }} {{ (1,) }} {{ (1, 'a') }}", {}),
    ("repr_containers", "{{ [1, 'a', none, true, 1.5, \"it's\", 'q\"'] }}|{{ {'a': [1, {'b': 'c'}], 'n': none} }}", {}),
    ("repr_unicode", "{{ ['é', '日本', 'tab\\t', 'nl\\n', '\\x00', '\\u00a0'] }}", {}),
    # operators
    ("arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1 / 4 }} {{ 10 / 5 }} "
              "{{ 1 + 2.5 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ true + 1 }}", {}),
    ("arith_precedence", "{{ -2 ** 2 }} {{ 2 + 3 * 4 }} {{ (2 + 3) * 4 }} {{ 2 ** 3 ** 2 }} {{ 10 - 2 - 3 }} {{ l|length - 1 }}", D),
    ("seq_ops", "{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] + [2, 3] }} {{ [0] * 3 }} {{ 'a' + 'b' }} {{ 1 ~ 2 ~ none ~ t }}", D),
    ("compare", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} "
                "{{ none == none }} {{ true == 1 }} {{ 'x' == 'x' }}", {}),
    ("membership", "{{ 'a' in 'cat' }} {{ 2 not in [1, 2] }} {{ 'a' in d }} {{ 'z' in d }} {{ 1 in missing }} "
                   "{{ not 'q' in 'abc' }}", D),
    ("logic", "{{ true and 'x' }}|{{ false or 'y' }}|{{ none or 0 }}|{{ not none }}|{{ '' and 1 }}|{{ 0 or [] or 'z' }}", {}),
    ("ternary", "{{ 'yes' if t else 'no' }} {{ 'a' if n }}|{{ 1 if false else 2 if false else 3 }}", D),
    # names and access
    ("undefined", "[{{ missing }}][{{ missing|default('dflt') }}][{{ d.nope }}][{{ d.nope is defined }}]"
                  "[{{ missing|length }}][{{ missing ~ 'x' }}][{{ n.attr }}][{{ d['nope'] }}][{{ l[10] }}]", D),
    ("attr_vs_item", "{{ d.a }} {{ d['a'] }} {{ d.b[2].c }} {{ d['items'] }} {{ d.items() | list | length }} "
                     "{{ l[0] }} {{ l[-1] }} {{ d.b.1 }}", D),
    ("slices", "{{ l[::-1] }} {{ l[1:] }} {{ l[:-1] }} {{ l[::2] }} {{ 'hello'[1:3] }} {{ 'hello'[::-1] }} "
               "{{ u[1:3] }} {{ u[-2:] }} {{ l[5:] }} {{ 'abc'[-1] }} {{ u[0] }}", D),
    # tests
    ("tests_types", "{{ 'x' is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is boolean }} "
                    "{{ true is number }} {{ d is mapping }} {{ l is iterable }} {{ 's' is iterable }} {{ d is sequence }} "
                    "{{ n is none }} {{ missing is undefined }} {{ missing is iterable }} {{ range is callable }}", D),
    ("tests_values", "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'a' is eq 'a' }} {{ 2 is in [1, 2] }} "
                     "{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 'abc' is lower }} {{ 'ABC' is upper }} "
                     "{{ n is sameas none }} {{ 3 is gt 2 }} {{ 3 is not lt 2 }} {{ 4 is le 4 }}", D),
    ("not_is_precedence", "{{ not missing is defined }} {{ not d is mapping }}", D),
    # filters
    ("f_text", "{{ s|trim }}|{{ s|trim(' !') }}|{{ 'hello world-wide (x)'|title }}|{{ 'hELLO'|capitalize }}|"
               "{{ s|upper }}|{{ s|lower }}|{{ 'aaa'|replace('a', 'b', 2) }}|{{ 5|string ~ 'x' }}", D),
    ("f_numbers", "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ '0x1A'|int(0, 16) }} {{ 3.9|int }} "
                  "{{ '2.5'|float }} {{ 'nan!'|float }} {{ -3|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} "
                  "{{ 3.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 5|round }}", {}),
    ("f_sequences", "{{ l|first }} {{ l|last }} {{ l|length }} {{ l|count }} {{ l|sort }} {{ l|sort(reverse=true) }} "
                    "{{ l|join('-') }} {{ l|reverse|list }} {{ 'abc'|list }} {{ l|sum }} {{ l|min }} {{ l|max }} "
                    "{{ [3, 'a']|first }} {{ []|first is defined }} {{ 'abc'|last }}", D),
    ("f_unique", "{{ ['a', 'A', 'b', 'a']|unique|list }} {{ ['a', 'A']|unique(case_sensitive=true)|list }} "
                 "{{ users|unique(attribute='role')|map(attribute='name')|list }}", D),
    ("f_map_select", "{{ users|map(attribute='name')|join(', ') }}|{{ users|map(attribute='age', default=0)|list }}|"
                     "{{ users|selectattr('role', 'equalto', 'user')|map(attribute='name')|list }}|"
                     "{{ users|rejectattr('age')|list|length }}|{{ [0, 1, 2, none]|select|list }}|"
                     "{{ l|select('odd')|list }}|{{ l|reject('gt', 1)|list }}|{{ ['a', 'b']|map('upper')|list }}|"
                     "{{ users|selectattr('age', 'defined')|selectattr('age', 'gt', 26)|first }}", D),
    ("f_items_dictsort", "{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}|{{ {'b': 1, 'a': 2}|dictsort }}|"
                         "{{ {'b': 1, 'a': 2}|dictsort(by='value', reverse=true) }}|{{ missing|items|list }}", D),
    ("f_default", "{{ none|default('x') }} {{ none|default('x', true) }} {{ ''|d('e', true) }} {{ 0|default(5) }} "
                  "{{ missing|d }}", {}),
    ("f_misc", "{{ '<a href=\"x\">&</a>'|e }} {{ 'x'|safe }} {{ 'one two  three'|wordcount }} {{ 'ab'|center(6) }}| "
               "{{ 'l1\\nl2\\n\\nl4'|indent(2) }}|{{ 'l1\\nl2'|indent(2, true) }}|{{ users[0]|attr('name') }}|"
               "{{ d|attr('items') is defined }}", D),
    ("tojson_basic", "{{ d|tojson }}|{{ [1, 2.0, 0.1, 1e20, true, none, 'é\"\\\\\\n'] | tojson }}|{{ 'x'|tojson }}", D),
    ("tojson_options", "{{ d|tojson(indent=2) }}|{{ {'b': 1, 'a': [1, {}], 'c': []}|tojson(sort_keys=true) }}|"
                       "{{ u|tojson(ensure_ascii=true) }}|{{ d|tojson(separators=(',', ':')) }}|"
                       "{{ {'x': [1, [2, []]]}|tojson(indent='\\t') }}|{{ '🚀'|tojson(ensure_ascii=true) }}", D),
    # methods
    ("m_string", "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip(' !') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|"
                 "{{ 'a b c'.split(' ', 1) }}|{{ 'a.b.c'.rsplit('.', 1) }}|{{ s.startswith('  He') }}|"
                 "{{ 'x.py'.endswith(('.js', '.py')) }}|{{ 'abc'.upper() }}|{{ 'ABC'.lower() }}|{{ \"they're bill's\".title() }}|"
                 "{{ 'aXa'.replace('a', 'b') }}|{{ 'hello'.find('l') }}|{{ 'hello'.rfind('l') }}|{{ 'hello'.count('l') }}|"
                 "{{ '-'.join(['a', 'b']) }}|{{ 'l1\\nl2\\r\\nl3'.splitlines() }}|{{ 'x{}y{}'.format(1, 'z') }}|"
                 "{{ 'abc'.capitalize() }}|{{ '12'.isdigit() }}|{{ '7'.zfill(3) }}|{{ 'pre_x'.removeprefix('pre_') }}", D),
    ("m_string_unicode", "{{ u.find('テ') }}|{{ u|length }}|{{ 'ÉCOLE'.lower() }}|{{ 'straße'.upper() }}|{{ u.startswith('日本') }}", D),
    ("m_dict", "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list|length }} "
               "{% for k, v in d.items() %}{{ k }}:{{ v is string }};{% endfor %}", D),
    ("m_list", "{{ l.index(1) }} {{ l.count(3) }} {{ (1, 2).index(2) }}", D),
    # statements
    ("for_loop_vars", "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                      "{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }}"
                      "{{ loop.cycle('a', 'b') }} {% endfor %}", D),
    ("for_else_filter", "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in l if x > 1 %}{{ x }}{{ loop.length }}"
                        "{% endfor %}|{% for x in missing %}m{% else %}none{% endfor %}|{% for c in 'ab' %}{{ c }}.{% endfor %}"
                        "|{% for k in d %}{{ k }},{% endfor %}", D),
    ("for_unpack", "{% for a, b in [[1, 2], (3, 4)] %}{{ a }}{{ b }};{% endfor %}{% for (k, v) in {'x': 1}.items() %}"
                   "{{ k }}{{ v }}{% endfor %}", {}),
    ("for_nested_break", "{% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}{% for j in range(i) %}"
                         "{% if j == 1 %}{% continue %}{% endif %}{{ i }}{{ j }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("scoping", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }} {% endfor %}{{ x }}|"
                "{% if true %}{% set y = 5 %}{% endif %}{{ y }}|{% for i in [1] %}{% set z = 3 %}{% endfor %}[{{ z }}]", {}),
    ("namespace", "{% set ns = namespace(n=0, found=false, items=[]) %}{% for u in users %}{% set ns.n = ns.n + 1 %}"
                  "{% if u.role == 'admin' %}{% set ns.found = true %}{% endif %}{% set ns.items = ns.items + [u.name] %}"
                  "{% endfor %}{{ ns.n }} {{ ns.found }} {{ ns.items }}", D),
    ("set_variants", "{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set t = (1, 2) %}{{ t }}|{% set blk %}in {{ 'block' }}"
                     "{% endset %}{{ blk|upper }}|{% set blk2 | trim %}  pad  {% endset %}[{{ blk2 }}]", {}),
    ("macros", "{% macro greet(name, greeting='Hi', punct='!') %}{{ greeting }} {{ name }}{{ punct }}{% endmacro %}"
               "{{ greet('Ann') }}|{{ greet('Bob', 'Yo') }}|{{ greet('Cy', punct='?') }}|{{ greet(name='Di') }}", {}),
    ("macro_recursion", "{% macro count(n) %}{% if n > 0 %}{{ n }}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(5) }}", {}),
    ("macro_scope", "{% macro m() %}{{ g }}-{{ loopvar is defined }}{% endmacro %}{% set g = 'G' %}"
                    "{% for loopvar in [1] %}{{ m() }}{% endfor %}", {}),
    ("macro_output_compare", "{% macro t() %}obj{% endmacro %}{{ t() == 'obj' }} {{ t()|length }}", {}),
    ("filter_block_with", "{% filter upper %}shout {{ 'it' }}{% endfilter %}|{% with a = 1, b = 'x' %}{{ a }}{{ b }}"
                          "{% endwith %}[{{ a }}]", {}),
    ("globals", "{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ dict(a=1, b=2) }} "
                "{{ namespace(x=1).x }} {{ strftime_now('%Y-%m-%d %a %B %d') }}", {}),
    ("generation_tag", "a{% generation %}b{{ 'c' }}{% endgeneration %}d", {}),
    ("print_tag", "{% print 'p' %}{% print 1 + 1 %}", {}),
    ("if_chain", "{% for v in [1, 2, 3, 4] %}{% if v == 1 %}one{% elif v == 2 %}two{% elif v > 3 %}big{% else %}"
                 "other{% endif %},{% endfor %}", {}),
    ("floats", "{{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 1e100 }} {{ 1e16 }} {{ 1234567890123456.0 }} {{ 123456789.125 }} "
               "{{ -0.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 2.0 ** 0.5 }} {{ 'a' ~ 1.0 }} {{ 10 // 3 * 3 }} {{ 1e16|int }}", {}),
    ("unicode_strip", "[{{ '\u00a0x\u3000'|trim }}][{{ '\u2003a b\u2003'.split() }}][{{ 'é'|upper }}]", {}),
    ("trailing_commas", "{{ {'a': 1,} }} {{ [1, 2,] }} {{ (1, 2,) }}", {}),
    ("equality", "{{ {'a': 1} == {'a': 1} }} {{ [1] == (1,) }} {{ [1, [2]] == [1, [2]] }} {{ 'a' == none }} "
                 "{{ missing == missing2 }} {{ none != false }}", {}),
    ("multiline_tags", "{{\n  'a'\n  ~ 'b'\n}}|{%\n  if true\n%}c{% endif %}", {}),
    ("lstrip_mixed", "x  {% if true %}y{% endif %}\n\t{% if true %}\n\tz\n\t{% endif %}\n  {# c #}\nw", {}),
    ("chained_filters", "{{ range(3)|map('string')|join }} {{ users|map(attribute='name')|map('upper')|list }} "
                        "{{ users|sort(attribute='name')|map(attribute='name')|list }} {{ [3, 1, 2]|sort|first }} "
                        "{{ (d.b|last).c }} {{ d.b[-1]['c'] }}", D),
    ("namespace_repr", "{% set ns = namespace(a=1) %}{% set ns.b = 'x' %}{{ ns }} {{ ns.a }} {{ ns['b'] }} {{ ns.zz is defined }}", {}),
    ("macro_in_ns", "{% macro m(x) %}<{{ x }}>{% endmacro %}{% set ns = namespace(out='') %}{% for i in range(3) %}"
                    "{% set ns.out = ns.out + m(i) %}{% endfor %}{{ ns.out }}", {}),
    ("conversions", "{{ none|string }} {{ true|tojson }} {{ 1.0|int }} {{ '3'|int + 1 }} {{ [1, 2]|string }} "
                    "{{ ''|length }} {{ d|length }} {{ 5|float }}", D),
    ("loop_over_string_and_dict_items", "{% for k, v in {'x': [1], 'y': {'z': none}}.items() %}{{ k }}:{{ v|tojson }} "
                                        "{% endfor %}", {}),
    ("dict_nonstring_keys", "{% set g = {0: 'zero', 512: 'half', 1.5: 'f', true: 't', none: 'n'} %}{{ g[0] }} {{ g[512] }} "
                            "{{ g[1] }} {{ g[1.5] }} {{ g[none] }} {{ g }} {{ {1: 'x', 2.5: 'y', false: 'z'}|tojson }} "
                            "{% for k, v in {4096: 512, 0: 0, 512: 128}|dictsort %}{{ k }}:{{ v }};{% endfor %}", {}),
    ("generators", "{{ 'yes' if []|select else 'no' }} {{ 'yes' if []|list else 'no' }} [{{ ([1, 2]|reverse)[0] }}] "
                   "{{ [1, 2]|reverse|list }} {{ {'a': 1}.items() }} {{ {'a': 1}.keys() }} {{ {'a': 1}.values()|list }} "
                   "{{ {'a': 1}.items()|length }} {{ range(3) }} {{ range(1, 10, 3) }} {{ range(3)[1] }} "
                   "{{ range(5)|length }} {{ [3, 4]|map('string') is sequence }} {{ range(2) is sequence }}", {}),
    ("err_generator_tojson", "{{ [1]|map('string')|tojson }}", {}),
    ("err_generator_length", "{{ [1]|select|length }}", {}),
    ("err_sort_keys_mixed", "{{ {1: 'a', 'b': 2}|tojson(sort_keys=true) }}", {}),
    ("markup_concat", "{{ 'a<'|safe + '<b>' }}|{{ '<i>' + 'x&'|safe }}|{{ ('<'|e) + '>' }}|{{ '<'|safe ~ '<' }}|"
                      "{{ ('<'|safe) * 2 + '>' }}|{{ ['<'|safe] }}", {}),
    ("unknown_filter_guarded", "{% if false %}{{ x|from_json }}{% elif false %}{{ x is nosuchtest }}{% endif %}"
                               "{{ x|nofilter if false else 'b' }}ok", {}),
    # errors (rendered or compile-time)
    ("err_undefined_attr", "{{ missing.attr }}", {}),
    ("err_type_add", "line1\n{{ 1 + 'a' }}", {}),
    ("err_raise", "{% if true %}{{ raise_exception('Roles must alternate') }}{% endif %}", {}),
    ("err_compare", "{{ 'a' < 1 }}", {}),
    ("err_call_undefined", "{{ nope() }}", {}),
    ("err_unknown_filter", "{{ x|nofilter }}", {}),
    ("err_unclosed_for", "{% for x in y %}\nbody", {}),
    ("err_unknown_tag", "{% frobnicate %}", {}),
    ("err_range_too_big", "{{ range(200000)|length }}", {}),
    ("err_div_zero", "{{ 1 // 0 }}", {}),
    ("err_tojson_undefined", "{{ missing|tojson }}", {}),
    ("err_unsafe_append", "{{ l.append(4) }}", D),
    ("err_ns_assign", "{% set x = 1 %}{% set x.y = 2 %}", {}),
    ("err_unknown_filter_run", "{% if true %}{{ 'x'|nofilter }}{% endif %}", {}),
    ("err_unknown_filter_loop_in_if", "{% if false %}{% for i in [1] %}{{ i|nofilter }}{% endfor %}{% endif %}", {}),
    ("err_unknown_test_run", "{% if 1 is nosuchtest %}a{% endif %}", {}),
    ("err_bad_syntax", "{{ 1 + }}", {}),
    ("err_unclosed_string", "{{ 'abc }}", {}),
    ("err_break_outside", "{% break %}", {}),
]


def make_snippets():
    out = []
    for name, source, ctx in SNIPPETS:
        entry = {"name": name, "template": source, "context_json": json.dumps(ctx, ensure_ascii=False)}
        try:
            tmpl = ctu._compile_jinja_template(source)
            entry["expected"] = tmpl.render(**copy.deepcopy(ctx))
        except Exception as e:  # noqa: BLE001 -- any failure is an expected error for the C++ side
            entry["error"] = f"{type(e).__name__}: {e}"
        out.append(entry)
    return out


def main():
    print(f"transformers {transformers.__version__}, jinja2 {jinja2.__version__}", file=sys.stderr)
    cases = make_cases()
    snippets = make_snippets()
    header = {
        "generator": "scripts/oracles/chat_template/make_cases.py",
        "transformers": transformers.__version__,
        "jinja2": jinja2.__version__,
        "strftime_now": FIXED_NOW.isoformat(),
    }
    (DATA / "cases.json").write_text(
        json.dumps({**header, "cases": cases}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (DATA / "snippets.json").write_text(
        json.dumps({**header, "snippets": snippets}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum(1 for c in cases if "error" in c)
    print(f"{len(cases)} cases ({errors} expected errors), {len(snippets)} snippets", file=sys.stderr)


if __name__ == "__main__":
    main()
