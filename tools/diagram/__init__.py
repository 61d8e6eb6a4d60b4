"""Pictures of what a stack's plan declares: subnet tiers per AZ, NAT, the load balancer, the
fleets, the database in its mode, cache, file systems, endpoints, the failover function, drawn
with the `diagrams` library's AWS icons into docs/diagram-<stack>.dot and .png.

    python -m tools.diagram STACK [--check] [--no-png]
    make diagram STACK=<stack>
"""

from tools.diagram.draw import dot_source, render_png
from tools.diagram.scene import Box, Link, Scene, node_id, scene

__all__ = ["Box", "Link", "Scene", "dot_source", "node_id", "render_png", "scene"]
