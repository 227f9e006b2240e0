"""Custom domain per region: an ACM certificate in the region, its DNS validation, a
REGIONAL dualstack API Gateway domain name with TLS 1.2 and the base path mapping.

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
    from cdktf_cdktf_provider_aws.provider import AwsProvider


@dataclass(frozen=True, kw_only=True)
class RegionalCertificateProps:
    provider: AwsProvider
    domain_name: str


class RegionalCertificate(Construct):
    """Exposes ``certificate``."""

    def __init__(self, scope: Construct, id_: str, props: RegionalCertificateProps) -> None:
        super().__init__(scope, id_)
        self.certificate = aws.acm_certificate.AcmCertificate(
            self,
            "certificate",
            provider=props.provider,
            domain_name=props.domain_name,
            validation_method="DNS",
            key_algorithm="RSA_2048",
            lifecycle={"create_before_destroy": True},
        )


@dataclass(frozen=True, kw_only=True)
class DnsValidationProps:
    """``certificate``: any one region's certificate for the name (all share the record)."""

    provider: AwsProvider
    zone_id: str
    certificate: AcmCertificate


class DnsValidation(Construct):
    """The validation CNAME, created once. Exposes ``fqdns`` for the validations to wait on."""

    def __init__(self, scope: Construct, id_: str, props: DnsValidationProps) -> None:
        super().__init__(scope, id_)
        # One name per certificate, so the set has exactly one element.
        option = f"tolist({props.certificate.fqn}.domain_validation_options)[0]"
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
    provider: AwsProvider
    domain_name: str
    certificate: AcmCertificate
    validation_fqdns: list[str]
    rest_api_id: str
    stage_name: str


class RegionalDomain(Construct):
    """Exposes ``domain`` (its ``regional_domain_name`` / ``regional_zone_id`` are the alias
    target for the routing records)."""

    def __init__(self, scope: Construct, id_: str, props: RegionalDomainProps) -> None:
        super().__init__(scope, id_)
        validation = aws.acm_certificate_validation.AcmCertificateValidation(
            self,
            "validation",
            provider=props.provider,
            certificate_arn=props.certificate.arn,
            validation_record_fqdns=props.validation_fqdns,
        )
        self.domain = aws.api_gateway_domain_name.ApiGatewayDomainName(
            self,
            "domain_name",
            provider=props.provider,
            domain_name=props.domain_name,
            regional_certificate_arn=validation.certificate_arn,
            security_policy="TLS_1_2",
            endpoint_configuration=aws.api_gateway_domain_name.ApiGatewayDomainNameEndpointConfiguration(
                types=["REGIONAL"], ip_address_type="dualstack"
            ),
        )
        aws.api_gateway_base_path_mapping.ApiGatewayBasePathMapping(
            self,
            "mapping",
            provider=props.provider,
            api_id=props.rest_api_id,
            stage_name=props.stage_name,
            domain_name=self.domain.domain_name,
        )
