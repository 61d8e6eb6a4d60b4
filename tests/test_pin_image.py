"""`tools/pin_image.py`: the image the SSM parameter resolves to, written into a stack's release
as one line; on moto's SSM, which publishes the Amazon Linux parameters as AWS does."""

from __future__ import annotations

import io
from pathlib import Path

import boto3  # type: ignore[import-untyped]
import pytest
import yaml
from moto import mock_aws

from tools import pin_image
from tools.mockrun import ROOT
from tools.release_git import PromotionError

PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
IMAGE = "ami-0123456789abcdef0"


@pytest.fixture
def ssm(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        yield boto3.client("ssm", region_name="eu-west-1")


def published(ssm) -> str:
    return str(ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"])


@pytest.fixture
def stacks(tmp_path: Path) -> Path:
    for stack in ("dev", "prod"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_bytes(
            (ROOT / f"Pulumi.{stack}.yaml").read_bytes()
        )
    return tmp_path


def release(path: Path) -> dict[str, str]:
    return dict(yaml.safe_load(path.read_text())["config"]["multitier:app"]["release"])


@pytest.mark.slow  # moto
def test_the_resolved_image_is_written_into_the_release_alone(ssm, stacks):
    path = stacks / "Pulumi.prod.yaml"
    before = path.read_text()
    out = io.StringIO()
    image = published(ssm)
    assert pin_image.pin("prod", stacks, ssm, out) == image
    assert release(path) == {**release(ROOT / "Pulumi.prod.yaml"), "ami": image}
    added = [line for line in path.read_text().splitlines() if line not in before.splitlines()]
    assert added == [f"      ami: {image}"], "one line, indented as the release's keys"
    assert f"+      ami: {image}\n" in out.getvalue()


@pytest.mark.slow  # moto
def test_a_second_pin_replaces_the_line(ssm, stacks):
    path = stacks / "Pulumi.dev.yaml"
    path.write_text(pin_image.with_ami(path.read_text(), path, IMAGE))  # an older pin
    pin_image.pin("dev", stacks, ssm, io.StringIO())
    assert release(path)["ami"] == published(ssm)
    assert path.read_text().count("ami:") == 1


def test_a_flow_release_is_refused() -> None:
    text = "config:\n  multitier:app:\n    release: {image: x, version: '1'}\n"
    with pytest.raises(PromotionError, match=r"writes multitier:app\.release on one line"):
        pin_image.with_ami(text, Path("Pulumi.x.yaml"), IMAGE)


def test_a_stack_that_sets_app_ami_is_refused(stacks) -> None:
    path = stacks / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("    port: 80\n", f"    port: 80\n    ami: {IMAGE}\n"))
    with pytest.raises(PromotionError, match=r"sets multitier:app\.ami"):
        pin_image.pin("dev", stacks, ssm=None, out=io.StringIO())
