"""Panel API endpoints about the caller's own company."""

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from tenants import selectors, services
from tenants.api import CompanyScopedApi, IsCompanyAdmin
from tenants.serializers import CompanySerializer, CompanySettingsSerializer, MembershipSerializer


class CompanyApi(CompanyScopedApi):
    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsAuthenticated(), IsCompanyAdmin()]
        return super().get_permissions()

    @extend_schema(responses=CompanySerializer, summary="The caller's company")
    def get(self, request):
        return Response(CompanySerializer(self.company).data)

    @extend_schema(request=CompanySettingsSerializer, responses=CompanySerializer, summary="Change company settings")
    def patch(self, request):
        serializer = CompanySettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        company = services.company_settings_update(company=self.company, **serializer.validated_data)
        return Response(CompanySerializer(company).data)


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
