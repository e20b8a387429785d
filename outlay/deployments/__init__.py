"""Deployments as cost events: the step in cost a deploy makes (`cost_step`)."""
