"""The health answer."""

from rest_framework import serializers


class HealthCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    ms = serializers.FloatField()
    error = serializers.CharField(required=False, help_text="Which dependency failed (details are in the server log).")
    cached = serializers.BooleanField(required=False, help_text="The result of a probe made in the last few seconds.")


class HealthQueueSerializer(HealthCheckSerializer):
    queued = serializers.IntegerField(required=False)
    running = serializers.IntegerField(required=False)
    oldest_queued_age_seconds = serializers.FloatField(required=False, allow_null=True)


class HealthEngineSerializer(HealthCheckSerializer):
    build = serializers.CharField(required=False, help_text="The build id of the engine's compiled loops.")


class HealthChecksSerializer(serializers.Serializer):
    database = HealthCheckSerializer()
    storage = HealthCheckSerializer()
    queue = HealthQueueSerializer()
    engine = HealthEngineSerializer()


class HealthSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["ok", "error"])
    version = serializers.CharField()
    engine_version = serializers.CharField()
    checks = HealthChecksSerializer()
