"""Panel API endpoints about the caller's own company."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from tenants import selectors
from tenants.api import CompanyScopedApi
from tenants.serializers import CompanySerializer, MembershipSerializer


class CompanyApi(CompanyScopedApi):
    @extend_schema(responses=CompanySerializer, summary="The caller's company")
    def get(self, request):
        return Response(CompanySerializer(self.company).data)


class MembershipListApi(CompanyScopedApi):
    @extend_schema(responses=MembershipSerializer(many=True), summary="Members of the caller's company")
    def get(self, request):
        members = selectors.membership_list(company=self.company)
        return Response(MembershipSerializer(members, many=True).data)


class MembershipDetailApi(CompanyScopedApi):
    @extend_schema(responses=MembershipSerializer, summary="One member of the caller's company")
    def get(self, request, membership_id: int):
        membership = selectors.membership_get(company=self.company, membership_id=membership_id)
        if membership is None:
            raise NotFound()
        return Response(MembershipSerializer(membership).data)
