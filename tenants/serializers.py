from rest_framework import serializers

from tenants.models import Company, Membership


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "pipedrive_company_id", "name", "domain", "status", "invoice_visibility"]


class CompanySettingsSerializer(serializers.Serializer):
    invoice_visibility = serializers.ChoiceField(choices=Company.InvoiceVisibility.choices)


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")

    class Meta:
        model = Membership
        fields = ["id", "pipedrive_user_id", "email", "name", "is_admin"]
