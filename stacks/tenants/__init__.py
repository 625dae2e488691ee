"""Tenants: one Pulumi stack per tenant, referencing its platform stack's outputs (`helixflow tenant ...`)."""
