"""Everything around running podgate in a cluster: webhook configurations derived from the policy set,
certificate operations, and the lockout pre-flight (`doctor`). Front-ends are `podgate webhook-config`,
`podgate certs` and `podgate doctor`; none of this is imported by the webhook's request path.
"""
