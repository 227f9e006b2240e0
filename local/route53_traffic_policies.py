"""Route53 traffic policies (Traffic Flow) for the emulator: moto has none of the API.

``install()`` adds the REST-XML routes to moto's Route53 URL map and the actions to its
response class (no fork of moto; moto renders the answers in AWS's XML shapes from botocore's
service model, as it does for its own actions):

- policies (one page per list: an empty marker, which is how the provider knows the last
  page, whatever IsTruncated says): CreateTrafficPolicy, CreateTrafficPolicyVersion, GetTrafficPolicy,
  UpdateTrafficPolicyComment, DeleteTrafficPolicy, ListTrafficPolicies,
  ListTrafficPolicyVersions; the document is kept byte for byte, as Route53 keeps it;
- policy records: CreateTrafficPolicyInstance, GetTrafficPolicyInstance,
  UpdateTrafficPolicyInstance, DeleteTrafficPolicyInstance, ListTrafficPolicyInstances,
  ListTrafficPolicyInstancesByHostedZone, ListTrafficPolicyInstancesByPolicy,
  GetTrafficPolicyInstanceCount.

A record is ``Applied`` at once (Route53 reports ``Creating`` for a while) and creates no
resource record sets in the zone: the global router evaluates the document itself
(local/traffic_flow.py). State lives on moto's Route53 backend, so a moto reset clears it.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult, EmptyResult
from moto.route53 import urls as route53_urls
from moto.route53.exceptions import Route53ClientError
from moto.route53.responses import Route53

if TYPE_CHECKING:
    from collections.abc import Callable

    from moto.route53.models import Route53Backend

FORMAT_VERSIONS = ("2015-10-01", "2023-05-09")
INVALID = "InvalidTrafficPolicyDocument"
API = r"{0}/(?P<api_version>[\d_-]+)"
PATHS = (
    API + r"/trafficpolicy$",
    API + r"/trafficpolicy/(?P<policy_id>[^/]+)$",
    API + r"/trafficpolicy/(?P<policy_id>[^/]+)/(?P<version>[^/]+)$",
    API + r"/trafficpolicies$",
    API + r"/trafficpolicies/(?P<policy_id>[^/]+)/versions$",
    API + r"/trafficpolicyinstance$",
    API + r"/trafficpolicyinstance/(?P<instance_id>[^/]+)$",
    API + r"/trafficpolicyinstances/hostedzone$",
    API + r"/trafficpolicyinstances/trafficpolicy$",
    API + r"/trafficpolicyinstancecount$",
)
_INSTALLED = "_items_traffic_policies_installed"


class TrafficFlowError(Route53ClientError):
    """An error code of Route53's model (its HTTP status comes from the model)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


@dataclass
class Store:
    """policy id -> version -> TrafficPolicy; instance id -> TrafficPolicyInstance."""

    policies: dict[str, dict[int, dict]] = field(default_factory=dict)
    instances: dict[str, dict] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


def store_of(backend: Route53Backend) -> Store:
    store = getattr(backend, "traffic_flow", None)
    if store is None:
        store = Store()
        setattr(backend, "traffic_flow", store)  # noqa: B010 (moto's backend declares no such attribute)
    return store


def record_type(document: str) -> str:
    """The document's RecordType, after the checks Route53 makes before it keeps a document."""
    try:
        parsed = json.loads(document)
    except ValueError as err:
        raise TrafficFlowError(INVALID, f"The document is not valid JSON: {err}") from None
    if not isinstance(parsed, dict) or parsed.get("AWSPolicyFormatVersion") not in FORMAT_VERSIONS:
        raise TrafficFlowError(INVALID, f"AWSPolicyFormatVersion must be one of {FORMAT_VERSIONS}")
    endpoints, rules = parsed.get("Endpoints") or {}, parsed.get("Rules") or {}
    start = parsed.get("StartRule") or parsed.get("StartEndpoint")
    if not parsed.get("RecordType") or start not in {**endpoints, **rules}:
        raise TrafficFlowError(INVALID, "RecordType and a known StartRule or StartEndpoint are required")
    for name, rule in rules.items():
        for reference in _references(rule):
            if reference not in endpoints and reference not in rules:
                raise TrafficFlowError(INVALID, f"Rule {name} refers to unknown {reference}")
    return parsed["RecordType"]


def _references(rule: dict) -> list[str]:
    """Every EndpointReference / RuleReference one rule makes, whatever its type."""
    items = [rule.get("Primary"), rule.get("Secondary"), *(rule.get("Regions") or []), *(rule.get("Items") or [])]
    items += rule.get("Locations") or []
    found = [item.get("EndpointReference") or item.get("RuleReference") for item in items if isinstance(item, dict)]
    return [str(reference) for reference in found if reference]


def find_policy(store: Store, policy_id: str, version: int | None = None) -> dict:
    versions = store.policies.get(policy_id) or {}
    found = versions.get(version if version is not None else max(versions, default=0))
    if found is None:
        raise TrafficFlowError("NoSuchTrafficPolicy", f"No traffic policy found with ID {policy_id} version {version}")
    return found


def find_instance(store: Store, instance_id: str) -> dict:
    if instance_id not in store.instances:
        raise TrafficFlowError("NoSuchTrafficPolicyInstance", f"No traffic policy instance found with ID {instance_id}")
    return store.instances[instance_id]


def _summary(versions: dict[int, dict]) -> dict:
    latest = versions[max(versions)]
    return {
        "Id": latest["Id"],
        "Name": latest["Name"],
        "Type": latest["Type"],
        "LatestVersion": latest["Version"],
        "TrafficPolicyCount": len(versions),
    }


def _fqdn(name: str) -> str:
    return name.lower().rstrip(".") + "."


class TrafficPolicyActions:
    """The actions, installed onto moto's ``Route53`` response class (``self`` is one)."""

    backend: Route53Backend
    _get_param: Any
    _get_int_param: Any

    def _store(self) -> Store:
        return store_of(self.backend)

    def create_traffic_policy(self) -> ActionResult:
        name, document = self._get_param("Name"), self._get_param("Document")
        kind = record_type(document)
        with self._store().lock:
            if any(v[max(v)]["Name"] == name for v in self._store().policies.values()):
                raise TrafficFlowError("TrafficPolicyAlreadyExists", f"A traffic policy named {name} already exists")
            policy_id = str(uuid.uuid4())
            policy = {"Id": policy_id, "Version": 1, "Name": name, "Type": kind, "Document": document}
            policy["Comment"] = self._get_param("Comment")
            self._store().policies[policy_id] = {1: policy}
        return _with_location(policy, f"trafficpolicy/{policy_id}/1")

    def create_traffic_policy_version(self) -> ActionResult:
        policy_id, document = self._get_param("Id"), self._get_param("Document")
        kind = record_type(document)
        with self._store().lock:
            latest = find_policy(self._store(), policy_id)
            version = latest["Version"] + 1
            policy = {**latest, "Version": version, "Type": kind, "Document": document}
            policy["Comment"] = self._get_param("Comment")
            self._store().policies[policy_id][version] = policy
        return _with_location(policy, f"trafficpolicy/{policy_id}/{version}")

    def get_traffic_policy(self) -> ActionResult:
        policy = find_policy(self._store(), self._get_param("Id"), self._get_int_param("Version"))
        return ActionResult({"TrafficPolicy": _shown(policy)})

    def update_traffic_policy_comment(self) -> ActionResult:
        with self._store().lock:
            policy = find_policy(self._store(), self._get_param("Id"), self._get_int_param("Version"))
            policy["Comment"] = self._get_param("Comment")
        return ActionResult({"TrafficPolicy": _shown(policy)})

    def delete_traffic_policy(self) -> ActionResult:
        policy_id, version = self._get_param("Id"), self._get_int_param("Version")
        store = self._store()
        with store.lock:
            find_policy(store, policy_id, version)
            if any(
                i["TrafficPolicyId"] == policy_id and i["TrafficPolicyVersion"] == version
                for i in store.instances.values()
            ):
                raise TrafficFlowError("TrafficPolicyInUse", f"Traffic policy {policy_id} version {version} is in use")
            del store.policies[policy_id][version]
            if not store.policies[policy_id]:
                del store.policies[policy_id]
        return EmptyResult()

    def list_traffic_policies(self) -> ActionResult:
        with self._store().lock:
            summaries = [_summary(versions) for versions in self._store().policies.values()]
        return ActionResult(
            {
                "TrafficPolicySummaries": summaries,
                "IsTruncated": False,
                # The provider pages until the marker is empty, whatever IsTruncated says.
                "TrafficPolicyIdMarker": "",
                "MaxItems": str(self._get_param("MaxItems") or 100),
            }
        )

    def list_traffic_policy_versions(self) -> ActionResult:
        policy_id = self._get_param("Id")
        with self._store().lock:
            find_policy(self._store(), policy_id)
            versions = [_shown(p) for _, p in sorted(self._store().policies[policy_id].items())]
        return ActionResult(
            {
                "TrafficPolicies": versions,
                "IsTruncated": False,
                "TrafficPolicyVersionMarker": "",
                "MaxItems": str(self._get_param("MaxItems") or 100),
            }
        )

    def create_traffic_policy_instance(self) -> ActionResult:
        zone = self.backend.get_hosted_zone(self._get_param("HostedZoneId"))
        name = _fqdn(self._get_param("Name"))
        if name != zone.name and not name.endswith("." + zone.name):
            raise TrafficFlowError("InvalidInput", f"{name} is not in the hosted zone {zone.name}")
        store = self._store()
        with store.lock:
            policy = find_policy(store, self._get_param("TrafficPolicyId"), self._get_int_param("TrafficPolicyVersion"))
            if any(i["HostedZoneId"] == _bare(zone.id) and i["Name"] == name for i in store.instances.values()):
                raise TrafficFlowError("TrafficPolicyInstanceAlreadyExists", f"A policy record for {name} exists")
            instance_id = str(uuid.uuid4())
            store.instances[instance_id] = {
                "Id": instance_id,
                "HostedZoneId": _bare(zone.id),
                "Name": name,
                "TTL": self._get_int_param("TTL"),
                "State": "Applied",
                "Message": "",
                "TrafficPolicyId": policy["Id"],
                "TrafficPolicyVersion": policy["Version"],
                "TrafficPolicyType": policy["Type"],
            }
            instance = dict(store.instances[instance_id])
        return ActionResult(
            {"TrafficPolicyInstance": instance, "Location": f"{_BASE}/trafficpolicyinstance/{instance_id}"}
        )

    def get_traffic_policy_instance(self) -> ActionResult:
        with self._store().lock:
            instance = dict(find_instance(self._store(), self._get_param("Id")))
        return ActionResult({"TrafficPolicyInstance": instance})

    def update_traffic_policy_instance(self) -> ActionResult:
        store = self._store()
        with store.lock:
            instance = find_instance(store, self._get_param("Id"))
            policy = find_policy(store, self._get_param("TrafficPolicyId"), self._get_int_param("TrafficPolicyVersion"))
            instance.update(
                TTL=self._get_int_param("TTL"),
                TrafficPolicyId=policy["Id"],
                TrafficPolicyVersion=policy["Version"],
                TrafficPolicyType=policy["Type"],
            )
            shown = dict(instance)
        return ActionResult({"TrafficPolicyInstance": shown})

    def delete_traffic_policy_instance(self) -> ActionResult:
        store = self._store()
        with store.lock:
            find_instance(store, self._get_param("Id"))
            del store.instances[self._get_param("Id")]
        return EmptyResult()

    def list_traffic_policy_instances(self) -> ActionResult:
        return self._instances(lambda _: True)

    def list_traffic_policy_instances_by_hosted_zone(self) -> ActionResult:
        zone = self.backend.get_hosted_zone(self._get_param("HostedZoneId"))
        return self._instances(lambda i: i["HostedZoneId"] == _bare(zone.id))

    def list_traffic_policy_instances_by_policy(self) -> ActionResult:
        policy_id, version = self._get_param("TrafficPolicyId"), self._get_int_param("TrafficPolicyVersion")
        find_policy(self._store(), policy_id, version)
        return self._instances(lambda i: i["TrafficPolicyId"] == policy_id and i["TrafficPolicyVersion"] == version)

    def get_traffic_policy_instance_count(self) -> ActionResult:
        with self._store().lock:
            return ActionResult({"TrafficPolicyInstanceCount": len(self._store().instances)})

    def _instances(self, keep: Callable[[dict[str, Any]], bool]) -> ActionResult:
        with self._store().lock:
            found = [dict(i) for i in self._store().instances.values() if keep(i)]
        return ActionResult(
            {"TrafficPolicyInstances": found, "IsTruncated": False, "MaxItems": str(self._get_param("MaxItems") or 100)}
        )


_BASE = "https://route53.amazonaws.com/2013-04-01"


def _shown(policy: dict) -> dict:
    return {key: value for key, value in policy.items() if value is not None}


def _with_location(policy: dict, path: str) -> ActionResult:
    return ActionResult({"TrafficPolicy": _shown(policy), "Location": f"{_BASE}/{path}"})


def install() -> None:
    """Adds the routes and actions to moto's Route53 in this process; a second call changes nothing."""
    if getattr(Route53, _INSTALLED, False):
        return
    for path in PATHS:
        route53_urls.url_paths.setdefault(path, Route53.dispatch)
    for name, function in vars(TrafficPolicyActions).items():
        if callable(function) and not name.startswith("__"):
            setattr(Route53, name, function)
    setattr(Route53, _INSTALLED, True)


def _bare(zone_id: str) -> str:
    """A zone id as Route53 returns it in a policy record: without ``/hostedzone/``."""
    return zone_id.rsplit("/", 1)[-1]
