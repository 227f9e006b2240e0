"""Chaos Toolkit actions and rollbacks (Python providers) for the local deployment: they
flip the fault switches of local/faults.py, pin routing through the Route53 API, or write
conflicting items, and note each fault's window in the run (ops/chaos_load.py). Durations
are seconds at TIME_SCALE 1."""

from __future__ import annotations

import threading
import time

from local import faults
from local.emulator import aws_client
from ops.chaos_load import Run, Window, current, timed_call
from ops.chaos_probes import conflict_values


def _inject(kind: str, duration_s: float, region: str | None = None, **parameters: object) -> str:
    run = current()
    seconds = run.scaled(duration_s)
    if region is not None:
        parameters["region"] = region
    fault_id = faults.inject(run.state_dir, kind, seconds, **parameters)
    started = time.time()
    run.faults.append(Window(kind, started, started + seconds, region))
    return fault_id


def region_outage(region: str, duration_s: float) -> str:
    return _inject("region-outage", duration_s, region)


def replication_pause(regions: list[str], duration_s: float) -> str:
    return _inject("replication-pause", duration_s, regions=list(regions))


def _function_names(run: Run, region: str, routes: list[str] | None) -> list[str]:
    functions = run.local().regions[region].functions
    return [functions[route] for route in routes] if routes else ["*"]


def lambda_errors(region: str, percentage: float, duration_s: float, routes: list[str] | None = None) -> str:
    """FIS's aws:lambda:invocation-error on ``routes``' functions (every function: None)."""
    names = _function_names(current(), region, routes)
    return _inject("lambda-errors", duration_s, region, percentage=float(percentage), functions=names)


def lambda_latency(
    region: str, percentage: float, delay_ms: float, duration_s: float, routes: list[str] | None = None
) -> str:
    """FIS's aws:lambda:invocation-add-delay on ``routes``' functions."""
    names = _function_names(current(), region, routes)
    return _inject(
        "lambda-latency", duration_s, region, percentage=float(percentage), delay_ms=float(delay_ms), functions=names
    )


def issuer_outage(duration_s: float) -> str:
    return _inject("issuer-outage", duration_s)


def wait(seconds: float) -> float:
    """A pause in the method, scaled; the load goes on meanwhile."""
    scaled = current().scaled(seconds)
    current().stop.wait(scaled)
    return scaled


def clear_faults() -> int:
    """Rollback: every fault switch off, and every open window closed now."""
    run = current()
    removed = faults.clear(run.state_dir)
    now = time.time()
    for window in run.faults:
        window.ended = min(window.ended, now)
    return removed


def _routing_check(run: Run, region: str) -> str:
    served = run.local().regions[region]
    check = served.routing_health_check_id or served.health_check_id
    return run.local().needed(check, f"regions.{region}.health_check_id", "the chaos action")


def _set_disabled(region: str, disabled: bool) -> str:
    run = current()
    check = _routing_check(run, region)
    route53 = aws_client("route53", "us-east-1", run.local().emulator_url)
    config = route53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
    # The children again: moto's UpdateHealthCheck empties a calculated check's children when
    # the request does not name them (Route53 keeps them).
    children = {"ChildHealthChecks": config["ChildHealthChecks"]} if config.get("ChildHealthChecks") else {}
    route53.update_health_check(HealthCheckId=check, Disabled=disabled, **children)
    return check


def pin_routing(region: str) -> str:
    """Route53 considers ``region``'s record healthy whatever its checks say (the check
    disabled): the global name keeps sending its share there."""
    return _set_disabled(region, True)


def unpin_routing(region: str) -> str:
    return _set_disabled(region, False)


def conflicting_writes(items: int = 5, converge_within_s: float = 10.0) -> dict:
    """Every region's API writes every item at the same moment (one thread per region,
    released together), each with its own value; then waits (wall seconds) until every
    region holds one value per item. Returns the acknowledged writes and the seconds from
    the last acknowledgement until convergence (None: not within the bound)."""
    run = current()
    names = [f"conflict-{run.run_id}-{index}" for index in range(int(items))]
    for name in names:
        run.conflicts.setdefault(name, [])
    barrier = threading.Barrier(len(run.regions))
    threads = [threading.Thread(target=_write_all, args=(run, region, names, barrier)) for region in run.regions]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written, acknowledged = time.time(), sum(map(len, run.conflicts.values()))
    run.faults.append(Window("conflict", started, written))
    while time.time() - written < converge_within_s:
        values = conflict_values(run, run.regions)
        if all(len(set(held.values())) == 1 for held in values.values()):
            return {"acknowledged": acknowledged, "converged_s": round(time.time() - written, 2)}
        time.sleep(0.1)
    return {"acknowledged": acknowledged, "converged_s": None}


def _write_all(run: Run, region: str, names: list[str], barrier: threading.Barrier) -> None:
    url = run.local().regions[region].api_url
    barrier.wait()
    for name in names:
        value = f"{region}/{run.run_id}"
        request = timed_call(run, "conflict", url, "POST", "/items", name, {"item_id": name, "value": value})
        if request.status in (200, 201):
            run.conflicts[name].append((request.started, region, value))


def overwritten(run: Run) -> int:
    """Acknowledged conflicting writes whose value is not the one every region holds."""
    values = conflict_values(run, run.regions)
    lost = 0
    for name, writes in run.conflicts.items():
        final = set(values.get(name, {}).values())
        lost += sum(1 for _, _, value in writes if {value} != final)
    return lost


_SAVED_ENVIRONMENTS: dict[str, dict] = {}


def _authorizer_function(run: Run, region: str) -> str:
    """The function behind the region's API authorizer, from API Gateway's deployed state."""
    rest_api = run.local().regions[region].rest_api_id
    client = aws_client("apigateway", region, run.local().emulator_url)
    uri = client.get_authorizers(restApiId=rest_api)["items"][0]["authorizerUri"]
    return uri.split("/functions/")[1].split("/invocations")[0]


def shorten_key_cache(region: str, max_age_s: float = 1) -> str:
    """Sets the authorizer's JWKS_MAX_AGE_SECONDS through the Lambda API: new execution
    environments (the configuration changed) must fetch the issuer's keys, and keys older
    than ``max_age_s`` (wall seconds) are refused: an issuer outage beyond the cache."""
    run = current()
    function = _authorizer_function(run, region)
    client = aws_client("lambda", region, run.local().emulator_url)
    variables = client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    _SAVED_ENVIRONMENTS.setdefault(function, dict(variables))
    shortened = {**variables, "JWKS_MAX_AGE_SECONDS": str(int(max_age_s))}
    client.update_function_configuration(FunctionName=function, Environment={"Variables": shortened})
    return function


def restore_key_cache(region: str) -> str:
    """Rollback of shorten_key_cache: the authorizer's environment as it was."""
    run = current()
    function = _authorizer_function(run, region)
    if function in _SAVED_ENVIRONMENTS:
        client = aws_client("lambda", region, run.local().emulator_url)
        client.update_function_configuration(
            FunctionName=function, Environment={"Variables": _SAVED_ENVIRONMENTS.pop(function)}
        )
    return function
