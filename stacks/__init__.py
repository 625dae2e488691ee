"""Stack configuration, the Pulumi programs per target, and the driver that runs them."""
