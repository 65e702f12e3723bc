"""Vault snapshots end to end: a real JPEG published as a snapshot message, served to its own city only."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import cv2
import numpy as np
from web_harness import Deployment, publish, wait_for

from protocol.messages import Snapshot


def _jpeg() -> bytes:
    picture = np.zeros((180, 320, 3), dtype=np.uint8)
    cv2.rectangle(picture, (40, 30), (120, 170), (200, 180, 160), -1)  # a figure-sized block
    ok, buf = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(buf)


def test_the_latest_snapshot_is_served_to_its_city_and_refused_elsewhere(deployment: Deployment) -> None:
    agent = deployment.agents["jinan/s01/a1"]
    jpeg = _jpeg()
    sha = hashlib.sha256(jpeg).hexdigest()
    agent.seq += 1
    publish(
        deployment.mqtt,
        Snapshot(
            agent=agent.agent_id,
            boot=agent.boot,
            seq=agent.seq,
            ts=datetime.now(UTC),
            device="vault-cam-1",
            sha256=sha,
            width=320,
            height=180,
            data=base64.b64encode(jpeg).decode(),
        ),
    )
    meta_url = "/api/v1/sites/jinan/s01/snapshots/vault-cam-1"
    with deployment.signed_in("city") as own:
        meta = wait_for(lambda: (m := own.get(meta_url).json()).get("available") and m, 10, "the snapshot stored")
        assert (meta["sha256"], meta["width"], meta["height"]) == (sha, 320, 180)
        image = own.get(meta["image_url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
        assert image.headers["cache-control"] == "private, no-store"
        assert image.content == jpeg
        assert own.get(meta_url.replace("vault-cam-1", "reader-101")).status_code == 404  # not a camera
        assert own.get(f"{meta_url}/{'0' * 64}.jpg").status_code == 404
    with deployment.signed_in("city_other") as other:
        assert other.get(meta_url).status_code == 404
        assert other.get(meta["image_url"]).status_code == 404
