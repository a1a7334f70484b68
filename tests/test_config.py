import pytest
import yaml

from sharpscore.config import ConfigModel, dump_config, parse_overrides, resolve_config
from sharpscore.errors import ConfigError


class Optim(ConfigModel):
    lr: float = 1e-3
    betas: list[float] = [0.9, 0.999]


class Job(ConfigModel):
    name: str = "job"
    epochs: int = 10
    resume: bool = False
    optim: Optim = Optim()


def test_yaml_overrides_and_dump(tmp_path):
    cfg_path = tmp_path / "job.yaml"
    cfg_path.write_text("epochs: 5\noptim:\n  lr: 0.1\n")
    cfg = resolve_config(Job, cfg_path, ["optim.lr=0.01", "resume=true", "optim.betas=[0.5, 0.6]", "name=x=y"])
    assert (cfg.epochs, cfg.optim.lr, cfg.resume, cfg.optim.betas, cfg.name) == (5, 0.01, True, [0.5, 0.6], "x=y")
    out = tmp_path / "resolved.yaml"
    dump_config(cfg, out)
    assert resolve_config(Job, out) == cfg
    assert yaml.safe_load(out.read_text())["optim"]["lr"] == 0.01


def test_unknown_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'optim.lrr'"):
        resolve_config(Job, None, ["optim.lrr=3"])
    cfg_path = tmp_path / "bad.yaml"
    cfg_path.write_text("epochs: 5\nepoch: 3\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: unknown key 'epoch'"):
        resolve_config(Job, cfg_path)


def test_bad_values_and_syntax(tmp_path):
    with pytest.raises(ConfigError, match="epochs"):
        resolve_config(Job, None, ["epochs=many"])
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["epochs"])
    with pytest.raises(ConfigError, match="not found"):
        resolve_config(Job, tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        resolve_config(Job, tmp_path / "list.yaml")
    (tmp_path / "evil.yaml").write_text("epochs: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        resolve_config(Job, tmp_path / "evil.yaml")


@pytest.mark.parametrize("override,message", [
    ("model.widthz=3", "unknown key 'model.widthz'"),
    ("augment.rotat=3", "unknown key 'augment.rotat'"),
    ("loss.erosion_weight=abc", "loss.erosion_weight"),
])
def test_task_sections_are_typed(override, message, capsys):
    """A typo in a task-specific section is the same one-line error (exit 2) as anywhere else."""
    from sharpscore.cli import main

    assert main(["train", "configs/scorer-real.yaml", override]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_shipped_configs_load_by_name(tmp_path, monkeypatch):
    """The recipes ship inside the package: a bare name works from any folder (a pip install)."""
    from sharpscore.config import load_yaml, packaged_configs

    assert {"finetune-ra2", "scorer-real", "scorer", "localizer", "synth"} <= set(packaged_configs())
    monkeypatch.chdir(tmp_path)
    assert load_yaml("finetune-ra2")["task"] == "scorer"
    with pytest.raises(ConfigError, match="shipped configs, usable by name: .*finetune-ra2"):
        load_yaml("no-such-config")
