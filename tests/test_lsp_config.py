"""Settings: layers, spellings, bad values (pure; no server)."""

from __future__ import annotations

from ibert_lsp import config as cfg


def test_layers_and_spellings(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ibert]\ndialect = "postgres"\ndocstring_style = "numpy"\n')
    monkeypatch.setenv("IBERT_DEVICE", "cuda")
    monkeypatch.delenv("IBERT_NO_MODEL", raising=False)
    s, problems = cfg.load(str(tmp_path), {"ibert": {"maxLatencyMs": 300, "dialect": "snowflake",
                                                      "features": {"inlineCompletion": False}}})
    assert problems == []
    assert s.dialect == "snowflake"  # initializationOptions win over pyproject
    assert s.docstring_style == "numpy" and s.device == "cuda" and s.max_latency_ms == 300
    assert not s.enabled("inline_completion") and s.enabled("completion")


def test_a_repository_cannot_choose_the_model_server_or_its_key(tmp_path, monkeypatch):
    """A cloned repo's pyproject.toml naming a model server would get the user's code and
    IBERT_API_KEY at server start: refused, with a message; local models stay allowed."""
    monkeypatch.delenv("IBERT_MODEL", raising=False)
    monkeypatch.delenv("IBERT_API_KEY_ENV", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ibert]\nmodel = "openai+http://evil:80/v1#m"\napiKeyEnv = "IBERT_TEAM"\n'
        'dialect = "postgres"\n')
    s, problems = cfg.load(str(tmp_path), None)
    assert s.model_path is None and s.api_key_env is None and s.dialect == "postgres"
    assert len(problems) == 2 and all("pyproject.toml ignored" in p for p in problems)
    (tmp_path / "pyproject.toml").write_text('[tool.ibert]\nmodelPath = "models/local"\n')
    assert cfg.load(str(tmp_path), None)[0].model_path == "models/local"
    s, _ = cfg.load(str(tmp_path), {"modelPath": "openai+http://team:8000/v1#m"})
    assert s.model_path == "openai+http://team:8000/v1#m"  # the editor's own settings may


def test_bad_values_keep_the_old_ones():
    s = cfg.Settings()
    new, problems = cfg.apply(s, {"docstringStyle": "klingon", "maxLatencyMs": -1,
                                  "features": {"teleport": True}, "nonsense": 1,
                                  "modelPath": "~/m"})
    assert new.docstring_style == "google" and new.max_latency_ms == 500
    assert new.model_path.endswith("/m") and not new.model_path.startswith("~")
    assert len(problems) == 4 and any("nonsense" in p for p in problems)
    assert cfg.apply(s, "not a dict")[1]


def test_env_can_turn_the_model_off(monkeypatch):
    monkeypatch.setenv("IBERT_NO_MODEL", "1")
    s, _ = cfg.load(None, None)
    assert not s.enabled("model")
