"""Root GraphQL schema: each app contributes its own ``Query`` (and later ``Mutation``) in its schema.py."""

import graphene

import sync.schema


class Query(sync.schema.Query, graphene.ObjectType):
    ping = graphene.String(description="Liveness probe for clients.")

    @staticmethod
    def resolve_ping(root: object, info: graphene.ResolveInfo) -> str:
        return "pong"


class Mutation(sync.schema.Mutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
