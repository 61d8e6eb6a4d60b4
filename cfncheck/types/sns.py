"""SNS topics and subscriptions as AWS::SNS::Topic and AWS::SNS::Subscription."""

from __future__ import annotations

from cfncheck.fields import NAME_PREFIX, Drop, tags
from cfncheck.model import REF
from cfncheck.table import TypeMap

TYPES = (
    TypeMap(
        "aws:sns/topic:Topic",
        "AWS::SNS::Topic",
        {
            "name": "TopicName",
            "namePrefix": NAME_PREFIX,
            "displayName": "DisplayName",
            "fifoTopic": "FifoTopic",
            "kmsMasterKeyId": "KmsMasterKeyId",
            "tags": tags(),
        },
        refs={"id": REF, "arn": REF, "name": "TopicName"},
    ),
    TypeMap(
        "aws:sns/topicSubscription:TopicSubscription",
        "AWS::SNS::Subscription",
        {
            "topic": "TopicArn",
            "protocol": "Protocol",
            "endpoint": "Endpoint",
            "filterPolicy": "FilterPolicy",
            "rawMessageDelivery": "RawMessageDelivery",
            "endpointAutoConfirms": Drop(
                "Tells the provider whether the endpoint confirms by itself; e-mail waits for a "
                "person either way."
            ),
        },
        refs={"id": REF, "arn": REF},
    ),
)
