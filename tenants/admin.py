from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from tenants.models import Company, FieldMapping, Membership, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_superuser", "is_active", "last_login"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["name"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class FieldMappingInline(admin.StackedInline):
    model = FieldMapping
    extra = 0
    max_num = 1


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "pipedrive_company_id", "domain", "status", "invoice_visibility", "created_at"]
    list_filter = ["status", "invoice_visibility"]
    search_fields = ["name", "domain", "=pipedrive_company_id"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline, FieldMappingInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "company", "pipedrive_user_id", "is_admin", "created_at"]
    list_filter = ["is_admin"]
    list_select_related = ["user", "company"]
    search_fields = ["user__email", "company__name", "=pipedrive_user_id", "=company__pipedrive_company_id"]
    raw_id_fields = ["user", "company"]


@admin.register(FieldMapping)
class FieldMappingAdmin(admin.ModelAdmin):
    list_display = ["company", "to_entity", "to_key", "due_days", "default_currency", "updated_at"]
    list_select_related = ["company"]
    search_fields = ["company__name", "=company__pipedrive_company_id"]
    raw_id_fields = ["company"]
