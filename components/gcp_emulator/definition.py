"""What Google's Cloud Functions v2 API defines, written down for the emulator to hold requests to.

Google publishes the API as a discovery document (``cloudfunctions.v2.json``, shipped with
google-api-python-client). The emulator must not need that package at run time, so the part
it checks is written here by hand, declaratively, and ``tests/test_gcp_contract.py`` proves
it agrees with the document: every message, field, type, enum value and output-only flag
below exists there and nothing the document defines for these messages is missing.

Field kinds: ``string``, ``int32``, ``int64``, ``bool``, ``timestamp`` (google-datetime),
``map`` (string → string), ``any`` (a JSON object holding an ``@type``), a message name
(capitalised, a key of MESSAGES) or an enum name (a key of ENUMS). ``many`` is a repeated
field; ``out`` is output only (Google ignores it in a request, AIP-203).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    kind: str
    many: bool = False
    out: bool = False


def _f(kind: str, *, many: bool = False, out: bool = False) -> Field:
    return Field(kind, many, out)


S, I32, I64, BOOL, TIME, MAP = "string", "int32", "int64", "bool", "timestamp", "map"

# Enum values in proto order: a request may send the value's number (proto3 JSON), which is
# its index here (test_gcp_contract checks the numbering against the client's descriptors).
ENUMS: dict[str, tuple[str, ...]] = {
    "Environment": ("ENVIRONMENT_UNSPECIFIED", "GEN_1", "GEN_2"),
    "FunctionState": ("STATE_UNSPECIFIED", "ACTIVE", "FAILED", "DEPLOYING", "DELETING", "UNKNOWN", "DETACHING",
                      "DETACH_FAILED"),
    "DockerRegistry": ("DOCKER_REGISTRY_UNSPECIFIED", "CONTAINER_REGISTRY", "ARTIFACT_REGISTRY"),
    "DirectVpcEgress": ("DIRECT_VPC_EGRESS_UNSPECIFIED", "VPC_EGRESS_PRIVATE_RANGES_ONLY", "VPC_EGRESS_ALL_TRAFFIC"),
    "IngressSettings": ("INGRESS_SETTINGS_UNSPECIFIED", "ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"),
    "SecurityLevel": ("SECURITY_LEVEL_UNSPECIFIED", "SECURE_ALWAYS", "SECURE_OPTIONAL"),
    "VpcConnectorEgressSettings": ("VPC_CONNECTOR_EGRESS_SETTINGS_UNSPECIFIED", "PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"),
    "RetryPolicy": ("RETRY_POLICY_UNSPECIFIED", "RETRY_POLICY_DO_NOT_RETRY", "RETRY_POLICY_RETRY"),
    "Severity": ("SEVERITY_UNSPECIFIED", "ERROR", "WARNING", "INFO"),
    "UpgradeState": ("UPGRADE_STATE_UNSPECIFIED", "ELIGIBLE_FOR_2ND_GEN_UPGRADE",
                     "INELIGIBLE_FOR_UPGRADE_UNTIL_REDEPLOYMENT", "UPGRADE_OPERATION_IN_PROGRESS",
                     "SETUP_FUNCTION_UPGRADE_CONFIG_SUCCESSFUL", "SETUP_FUNCTION_UPGRADE_CONFIG_ERROR",
                     "ABORT_FUNCTION_UPGRADE_ERROR", "REDIRECT_FUNCTION_UPGRADE_TRAFFIC_SUCCESSFUL",
                     "REDIRECT_FUNCTION_UPGRADE_TRAFFIC_ERROR", "ROLLBACK_FUNCTION_UPGRADE_TRAFFIC_ERROR",
                     "COMMIT_FUNCTION_UPGRADE_ERROR", "COMMIT_FUNCTION_UPGRADE_ERROR_ROLLBACK_SAFE",
                     "COMMIT_FUNCTION_UPGRADE_AS_GEN2_SUCCESSFUL", "COMMIT_FUNCTION_UPGRADE_AS_GEN2_ERROR"),
}

# The Function resource and every message inside it (and generateUploadUrl's and generateDownloadUrl's requests), by the names the proto gives them
# (the discovery document prefixes two: DISCOVERY_NAMES).
MESSAGES: dict[str, dict[str, Field]] = {
    "Function": {
        "name": _f(S), "description": _f(S), "buildConfig": _f("BuildConfig"), "serviceConfig": _f("ServiceConfig"),
        "eventTrigger": _f("EventTrigger"), "state": _f("FunctionState", out=True), "updateTime": _f(TIME, out=True),
        "labels": _f(MAP), "stateMessages": _f("StateMessage", many=True, out=True),
        "environment": _f("Environment"), "upgradeInfo": _f("UpgradeInfo", out=True), "url": _f(S, out=True),
        "kmsKeyName": _f(S), "satisfiesPzs": _f(BOOL, out=True), "satisfiesPzi": _f(BOOL, out=True),
        "createTime": _f(TIME, out=True),
    },
    "BuildConfig": {
        "automaticUpdatePolicy": _f("AutomaticUpdatePolicy"), "onDeployUpdatePolicy": _f("OnDeployUpdatePolicy"),
        "build": _f(S, out=True), "runtime": _f(S), "entryPoint": _f(S), "source": _f("Source"),
        "sourceProvenance": _f("SourceProvenance", out=True), "workerPool": _f(S), "environmentVariables": _f(MAP),
        "dockerRegistry": _f("DockerRegistry"), "dockerRepository": _f(S), "serviceAccount": _f(S),
        "sourceToken": _f(S),
    },
    "ServiceConfig": {
        "service": _f(S, out=True), "timeoutSeconds": _f(I32), "availableMemory": _f(S), "availableCpu": _f(S),
        "environmentVariables": _f(MAP), "maxInstanceCount": _f(I32), "minInstanceCount": _f(I32),
        "vpcConnector": _f(S), "vpcConnectorEgressSettings": _f("VpcConnectorEgressSettings"),
        "ingressSettings": _f("IngressSettings"), "uri": _f(S, out=True), "serviceAccountEmail": _f(S),
        "allTrafficOnLatestRevision": _f(BOOL), "secretEnvironmentVariables": _f("SecretEnvVar", many=True),
        "secretVolumes": _f("SecretVolume", many=True), "revision": _f(S, out=True),
        "maxInstanceRequestConcurrency": _f(I32), "securityLevel": _f("SecurityLevel"),
        "binaryAuthorizationPolicy": _f(S), "directVpcNetworkInterface": _f("DirectVpcNetworkInterface", many=True),
        "directVpcEgress": _f("DirectVpcEgress"),
    },
    "Source": {"storageSource": _f("StorageSource"), "repoSource": _f("RepoSource"), "gitUri": _f(S)},
    "StorageSource": {"bucket": _f(S), "object": _f(S), "generation": _f(I64), "sourceUploadUrl": _f(S)},
    "RepoSource": {"branchName": _f(S), "tagName": _f(S), "commitSha": _f(S), "projectId": _f(S),
                   "repoName": _f(S), "dir": _f(S)},
    "SourceProvenance": {"resolvedStorageSource": _f("StorageSource"), "resolvedRepoSource": _f("RepoSource"),
                         "gitUri": _f(S)},
    "EventTrigger": {
        "trigger": _f(S, out=True), "triggerRegion": _f(S), "eventType": _f(S),
        "eventFilters": _f("EventFilter", many=True), "pubsubTopic": _f(S), "serviceAccountEmail": _f(S),
        "retryPolicy": _f("RetryPolicy"), "channel": _f(S), "service": _f(S),
    },
    "EventFilter": {"attribute": _f(S), "value": _f(S), "operator": _f(S)},
    "SecretEnvVar": {"key": _f(S), "projectId": _f(S), "secret": _f(S), "version": _f(S)},
    "SecretVolume": {"mountPath": _f(S), "projectId": _f(S), "secret": _f(S), "versions": _f("SecretVersion", many=True)},
    "SecretVersion": {"version": _f(S), "path": _f(S)},
    "DirectVpcNetworkInterface": {"network": _f(S), "subnetwork": _f(S), "tags": _f(S, many=True)},
    "AutomaticUpdatePolicy": {},
    "OnDeployUpdatePolicy": {"runtimeVersion": _f(S, out=True)},
    "StateMessage": {"severity": _f("Severity"), "type": _f(S), "message": _f(S)},
    "GenerateUploadUrlRequest": {"kmsKeyName": _f(S), "environment": _f("Environment")},
    "GenerateDownloadUrlRequest": {},
    "UpgradeInfo": {"upgradeState": _f("UpgradeState"), "serviceConfig": _f("ServiceConfig"),
                    "eventTrigger": _f("EventTrigger"), "buildConfig": _f("BuildConfig")},
}

#: Our message name → the discovery document's schema name, where they differ.
DISCOVERY_NAMES = {"StateMessage": "GoogleCloudFunctionsV2StateMessage"}

#: Fields a request must set, by message (the document's descriptions: "Required."). On create,
#: BuildConfig.runtime is "Required when deploying a new function, optional when updating".
REQUIRED = {"EventTrigger": ("eventType",), "EventFilter": ("attribute", "value")}
REQUIRED_ON_CREATE = (("buildConfig", "runtime"),)

#: Query parameters each method defines (discovery ``parameters`` with ``location: query``),
#: and the system parameters every method takes (the document's top-level ``parameters``; a
#: URL may also spell them with a leading ``$``, https://cloud.google.com/apis/docs/system-parameters).
QUERY_PARAMETERS: dict[str, frozenset[str]] = {
    "list_functions": frozenset({"filter", "orderBy", "pageSize", "pageToken"}),
    "create_function": frozenset({"functionId"}),
    "generate_upload_url": frozenset(),
    "generate_download_url": frozenset(),
    "get_function": frozenset({"revision"}),
    "patch_function": frozenset({"updateMask"}),
    "delete_function": frozenset(),
    "get_operation": frozenset(),
    "list_operations": frozenset({"filter", "pageSize", "pageToken", "returnPartialSuccess"}),
}
SYSTEM_PARAMETERS = frozenset({"$.xgafv", "access_token", "alt", "callback", "fields", "key", "oauth_token",
                               "prettyPrint", "quotaUser", "uploadType", "upload_protocol"})
#: Integer query parameters (int32), checked like body fields.
INT32_PARAMETERS = frozenset({"pageSize"})

#: ServiceConfig.availableMemory: "Supported units are k, M, G, Mi, Gi. If no unit is supplied
#: the value is interpreted as bytes" (a Kubernetes quantity limited to those units).
MEMORY = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)(?:k|M|G|Mi|Gi)?$")

#: The function id (create's ``functionId``, the last part of the name). The document: "valid
#: characters are /a-z-/" (digits are allowed too: Google's own samples deploy ``function-1``);
#: gcloud and the Cloud Run service the function becomes add: start with a letter, end with a
#: letter or digit, at most 63. (The document's "should be 4-63 characters" is not held: Google
#: serves shorter ids, e.g. Firebase's usual ``api``.)
FUNCTION_ID = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")

#: Regions where Cloud Functions (2nd gen) runs, https://cloud.google.com/functions/docs/locations
#: (the API lists them at run time through projects.locations.list; not in the document).
LOCATIONS = frozenset({
    "africa-south1",
    "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1",
    "asia-south2", "asia-southeast1", "asia-southeast2",
    "australia-southeast1", "australia-southeast2",
    "europe-central2", "europe-north1", "europe-north2", "europe-southwest1", "europe-west1", "europe-west2",
    "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9", "europe-west10",
    "europe-west12",
    "me-central1", "me-central2", "me-west1",
    "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
    "southamerica-east1", "southamerica-west1",
    "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
})
#: BuildConfig.runtime: a string in the document, checked by Google against its runtime ids
#: (https://cloud.google.com/functions/docs/runtime-support, deprecated ones included: a
#: function made on one still reads and updates). ``python3.11`` (Lambda's spelling) is not one.
RUNTIMES = frozenset({
    "nodejs6", "nodejs8", "nodejs10", "nodejs12", "nodejs14", "nodejs16", "nodejs18", "nodejs20", "nodejs22",
    "python37", "python38", "python39", "python310", "python311", "python312", "python313",
    "go111", "go113", "go116", "go118", "go119", "go120", "go121", "go122", "go123",
    "java11", "java17", "java21",
    "ruby26", "ruby27", "ruby30", "ruby32", "ruby33", "ruby34",
    "php74", "php81", "php82", "php83", "php84",
    "dotnet3", "dotnet6", "dotnet8",
})

#: "use "-" in place of a location" to list (only) across all of them.
ALL_LOCATIONS = "-"
