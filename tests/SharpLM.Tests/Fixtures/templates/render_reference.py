#!/usr/bin/env python3
"""Reference renderings of chat templates with jinja2, configured as Hugging Face transformers configures it.

transformers (utils/chat_template_utils.py, _compile_jinja_template) renders chat templates with
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]), replaces the tojson
filter with json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys), and adds
the global raise_exception(message), which raises TemplateError(message). It passes messages, tools (None when not
given), documents (None), add_generation_prompt and the tokenizer's special tokens as variables.

Two uses:
  python3 render_reference.py generate   writes <model>/expected/* for every <model>/tokenizer_config.json here
                                          and every conversation in conversations.json (run by hand; the files are
                                          committed, so the C# tests need no Python)
  python3 render_reference.py render     reads {"cases": [{"template": str, "variables": {...}}]} on stdin and
                                          prints {"results": [{"output": str} | {"error": str}]} (the differential test)
"""
import json
import os
import sys

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


ENV = environment()


def token(value):
    """A special token from tokenizer_config.json: a string, or an AddedToken object with "content"."""
    return value["content"] if isinstance(value, dict) else value


def render(template, messages, add_generation_prompt, config, tools=None):
    variables = {"messages": messages, "tools": tools, "documents": None, "add_generation_prompt": add_generation_prompt}
    for name in ("bos_token", "eos_token", "unk_token", "pad_token"):
        if config.get(name) is not None:
            variables[name] = token(config[name])
    return ENV.from_string(template).render(**variables)


def utf16_length(text):
    return len(text.encode("utf-16-le")) // 2


def assistant_spans(template, messages, config, tools):
    """Progressive rendering, as the C# HfChatTemplate computes spans: the reply to messages[:i] is what rendering
    messages[:i+1] adds to rendering messages[:i] with the generation prompt. Offsets in UTF-16 code units, as C# counts."""
    whole = render(template, messages, False, config, tools)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = render(template, messages[:i], True, config, tools)
        through = render(template, messages[: i + 1], False, config, tools)
        if not through.startswith(prompt) or not whole.startswith(through):
            return None
        spans.append([utf16_length(prompt), utf16_length(through) - utf16_length(prompt)])
    return spans


def generate():
    with open(os.path.join(HERE, "conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)
    for model in sorted(os.listdir(HERE)):
        config_path = os.path.join(HERE, model, "tokenizer_config.json")
        if not os.path.isfile(config_path):
            continue
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        template = config["chat_template"]
        if isinstance(template, list):
            template = next(t["template"] for t in template if t["name"] == "default")
        out = os.path.join(HERE, model, "expected")
        os.makedirs(out, exist_ok=True)
        for name, conversation in conversations.items():
            if "templates" in conversation and model not in conversation["templates"]:
                continue
            messages, tools = conversation["messages"], conversation.get("tools")
            for mode, add in (("generation", True), ("plain", False)):
                try:
                    text, suffix = render(template, messages, add, config, tools), "txt"
                except jinja2.exceptions.TemplateError as e:
                    text, suffix = str(e), "error.txt"
                with open(os.path.join(out, f"{name}.{mode}.{suffix}"), "w", encoding="utf-8", newline="") as f:
                    f.write(text)
            if messages[-1]["role"] == "assistant":
                try:
                    spans = assistant_spans(template, messages, config, tools)
                except jinja2.exceptions.TemplateError:
                    spans = None
                if spans is not None:
                    with open(os.path.join(out, f"{name}.spans.json"), "w", encoding="utf-8") as f:
                        json.dump(spans, f)
                        f.write("\n")


def render_cases():
    request = json.load(sys.stdin)
    results = []
    for case in request["cases"]:
        try:
            results.append({"output": ENV.from_string(case["template"]).render(**case["variables"])})
        except Exception as e:  # any failure: the C# must fail too
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    {"generate": generate, "render": render_cases}[sys.argv[1]]()
