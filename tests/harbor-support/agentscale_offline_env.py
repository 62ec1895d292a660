"""A Harbor Docker environment for hosts that cannot pull Harbor's egress-control sidecar.

Stock Harbor 0.26 enforces `no-network` with a sidecar container whose digest-pinned images
cannot be pulled offline, so it refuses such tasks here. This subclass enforces it with Docker's
own `network_mode: none` on the main service instead; public tasks run exactly as stock.
Loaded by tests/harbor-parity.test.ts with `harbor run -e agentscale_offline_env:OfflineDockerEnvironment`.
"""

import json
import tempfile
from pathlib import Path

from harbor.environments.docker.docker import DockerEnvironment
from harbor.models.task.config import NetworkMode


class OfflineDockerEnvironment(DockerEnvironment):
    @classmethod
    def _egress_control_kernel_support(cls) -> bool:
        return False

    @property
    def capabilities(self):
        # Docker's network_mode: none does disable the internet; phases cannot switch it.
        return super().capabilities.model_copy(update={"disable_internet": True})

    @property
    def _docker_compose_paths(self) -> list[Path]:
        paths = super()._docker_compose_paths
        if self.network_policy.network_mode == NetworkMode.NO_NETWORK:
            override = getattr(self, "_agentscale_offline_override", None)
            if override is None:
                override = Path(tempfile.mkdtemp(prefix="harbor-offline-")) / "network-none.json"
                override.write_text(json.dumps({"services": {"main": {"network_mode": "none"}}}))
                self._agentscale_offline_override = override
            paths.append(override)
        return paths
