"""Custom domain per region: an ACM certificate in the region, its DNS validation, a
REGIONAL dualstack API Gateway domain name with TLS 1.2 and the base path mapping.

Each region also serves the API under a name of its own, ``<region>.<record_name>``: a SAN
on the region's certificate, a second custom domain with the same policy and mapping, and an
alias A record. The region's HTTPS health checks probe that name, so a broken certificate,
domain or mapping in the region fails them (docs/production-signals.md); Route53 cannot
probe the shared name in one region, since the check's host is both what it resolves and
the Host/SNI it sends.

ACM gives the same validation CNAME for a name in every region of an account, so
``DnsValidation`` creates that record once and every region's validation waits on it. The
zone must belong to the environment's account (one public zone per account; the config
loader rejects one zone named from two accounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs import Construct

from modules.provider import aws

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
    from cdktf_cdktf_provider_aws.api_gateway_base_path_mapping import ApiGatewayBasePathMapping
    from cdktf_cdktf_provider_aws.api_gateway_domain_name import ApiGatewayDomainName
    from cdktf_cdktf_provider_aws.provider import AwsProvider


def region_domain_name(region: str, record_name: str) -> str:
    """The name one region serves the API under, for its health checks."""
    return f"{region}.{record_name}"


@dataclass(frozen=True, kw_only=True)
class RegionalCertificateProps:
    """``alternative_names`` (default none): the certificate's SANs."""

    provider: AwsProvider
    domain_name: str
    alternative_names: tuple[str, ...] = ()


class RegionalCertificate(Construct):
    """Exposes ``certificate``."""

    def __init__(self, scope: Construct, id_: str, props: RegionalCertificateProps) -> None:
        super().__init__(scope, id_)
        self.certificate = aws.acm_certificate.AcmCertificate(
            self,
            "certificate",
            provider=props.provider,
            domain_name=props.domain_name,
            subject_alternative_names=list(props.alternative_names) or None,
            validation_method="DNS",
            key_algorithm="RSA_2048",
            lifecycle={"create_before_destroy": True},
        )


@dataclass(frozen=True, kw_only=True)
class DnsValidationProps:
    """``certificate``: any one region's certificate holding ``domain_name`` (every region's
    certificate for a name shares its record); ``domain_name``: the name this record validates."""

    provider: AwsProvider
    zone_id: str
    certificate: AcmCertificate
    domain_name: str


class DnsValidation(Construct):
    """The validation CNAME of one name, created once. Exposes ``fqdns`` for the validations
    to wait on."""

    def __init__(self, scope: Construct, id_: str, props: DnsValidationProps) -> None:
        super().__init__(scope, id_)
        # One option per name of the certificate (the domain and each SAN): pick this name's.
        options = f"{props.certificate.fqn}.domain_validation_options"
        option = f'[for o in {options} : o if o.domain_name == "{props.domain_name}"][0]'
        record = aws.route53_record.Route53Record(
            self,
            "record",
            provider=props.provider,
            zone_id=props.zone_id,
            name=f"${{{option}.resource_record_name}}",
            type=f"${{{option}.resource_record_type}}",
            records=[f"${{{option}.resource_record_value}}"],
            ttl=300,
            # No allow_overwrite: with it, a second stack validating the same name would adopt
            # this record, and destroying either stack would delete it under the other. A
            # record that already exists fails the apply instead, naming it.
        )
        self.fqdns = [record.fqdn]


@dataclass(frozen=True, kw_only=True)
class RegionalDomainProps:
    """``region_domain_name``: the region's own name (a SAN of ``certificate``), its alias A
    record written in ``zone_id`` (Route53 is global: the region's provider writes it)."""

    provider: AwsProvider
    domain_name: str
    region_domain_name: str
    certificate: AcmCertificate
    validation_fqdns: list[str]
    rest_api_id: str
    stage_name: str
    zone_id: str


class RegionalDomain(Construct):
    """Exposes ``domain`` (its ``regional_domain_name`` / ``regional_zone_id`` are the alias
    target for the routing records), ``region_domain`` (the region's own name) and
    ``region_record`` (its alias record: its ``fqdn`` is what the health checks probe, and
    waits for the domain and its mapping)."""

    def __init__(self, scope: Construct, id_: str, props: RegionalDomainProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        validation = aws.acm_certificate_validation.AcmCertificateValidation(
            self,
            "validation",
            provider=props.provider,
            certificate_arn=props.certificate.arn,
            validation_record_fqdns=props.validation_fqdns,
        )
        self.domain, _ = self._domain("domain_name", "mapping", props.domain_name, validation.certificate_arn)
        self.region_domain, region_mapping = self._domain(
            "region_domain_name", "region_mapping", props.region_domain_name, validation.certificate_arn
        )
        self.region_record = aws.route53_record.Route53Record(
            self,
            "region_record",
            provider=props.provider,
            zone_id=props.zone_id,
            name=props.region_domain_name,
            type="A",
            alias=aws.route53_record.Route53RecordAlias(
                name=self.region_domain.regional_domain_name,
                zone_id=self.region_domain.regional_zone_id,
                evaluate_target_health=False,
            ),
            # A health check on this name must not probe it before the mapping serves it.
            depends_on=[region_mapping],
        )

    def _domain(
        self, id_: str, mapping_id: str, name: str, certificate_arn: str
    ) -> tuple[ApiGatewayDomainName, ApiGatewayBasePathMapping]:
        """A REGIONAL dualstack domain with TLS 1.2, the stage mapped at its root."""
        props = self._props
        domain = aws.api_gateway_domain_name.ApiGatewayDomainName(
            self,
            id_,
            provider=props.provider,
            domain_name=name,
            regional_certificate_arn=certificate_arn,
            security_policy="TLS_1_2",
            endpoint_configuration=aws.api_gateway_domain_name.ApiGatewayDomainNameEndpointConfiguration(
                types=["REGIONAL"], ip_address_type="dualstack"
            ),
        )
        mapping = aws.api_gateway_base_path_mapping.ApiGatewayBasePathMapping(
            self,
            mapping_id,
            provider=props.provider,
            api_id=props.rest_api_id,
            stage_name=props.stage_name,
            domain_name=domain.domain_name,
        )
        return domain, mapping
