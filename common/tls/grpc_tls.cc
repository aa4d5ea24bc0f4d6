// File: common/tls/grpc_tls.cc

#include "common/tls/grpc_tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_context.h>

namespace fjord::tls {
namespace {

namespace gx = grpc::experimental;

/// gRPC re-reads the live copies this often (its smallest interval).
constexpr unsigned refresh_seconds = 1;

std::shared_ptr<gx::CertificateProviderInterface> provider_for(const credential_watcher& w) {
    const bool identity = !w.settings().cert_file.empty();
    const std::string ca = w.live_ca_path();
    if (identity && !ca.empty()) {
        return std::make_shared<gx::FileWatcherCertificateProvider>(
            w.live_identity_path(), w.live_identity_path(), ca, refresh_seconds);
    }
    if (identity) {
        return std::make_shared<gx::FileWatcherCertificateProvider>(
            w.live_identity_path(), w.live_identity_path(), refresh_seconds);
    }
    return std::make_shared<gx::FileWatcherCertificateProvider>(ca, refresh_seconds);
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(
    std::shared_ptr<gx::CertificateProviderInterface> provider, bool identity, bool ca,
    bool insecure) {
    gx::TlsChannelCredentialsOptions o;
    if (provider) {
        o.set_certificate_provider(std::move(provider));
    }
    if (identity) {
        o.watch_identity_key_cert_pairs();
    }
    if (ca) {
        o.watch_root_certs();
    }
    if (insecure) {
        o.set_verify_server_certs(false);
        o.set_check_call_host(false);
        o.set_certificate_verifier(std::make_shared<gx::NoOpCertificateVerifier>());
    }
    return gx::TlsCredentials(o);
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> grpc_server_credentials(
    const std::shared_ptr<credential_watcher>& w) {
    gx::TlsServerCredentialsOptions o(provider_for(*w));
    o.watch_identity_key_cert_pairs();
    const bool has_ca = !w->live_ca_path().empty();
    if (has_ca) {
        o.watch_root_certs();
    }
    o.set_cert_request_type(w->settings().require_client_auth
                                ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : has_ca ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
                                     : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    return gx::TlsServerCredentials(o);
}

result<std::shared_ptr<grpc::ChannelCredentials>> grpc_channel_credentials(const tls_settings& s) {
    if (!s.enabled) {
        return grpc::InsecureChannelCredentials();
    }
    if (auto r = check_client_settings(s, "tls"); !r) {
        return r.error();
    }
    auto c = load_credentials(s);
    if (!c) {
        return c.error();
    }
    const bool identity = !c->cert_pem.empty();
    const bool ca = !c->ca_pem.empty();
    std::shared_ptr<gx::CertificateProviderInterface> provider;
    if (identity || ca) {
        std::vector<gx::IdentityKeyCertPair> pairs;
        if (identity) {
            pairs.push_back({c->key_pem, c->cert_pem});
        }
        provider = ca ? std::make_shared<gx::StaticDataCertificateProvider>(c->ca_pem, pairs)
                      : std::make_shared<gx::StaticDataCertificateProvider>(pairs);
    }
    // Without a truststore gRPC verifies against the system's roots.
    return channel_credentials(std::move(provider), identity, ca, s.insecure_skip_verify);
}

std::shared_ptr<grpc::ChannelCredentials> grpc_channel_credentials(
    const std::shared_ptr<credential_watcher>& w) {
    const bool identity = !w->settings().cert_file.empty();
    const bool ca = !w->live_ca_path().empty();
    return channel_credentials(identity || ca ? provider_for(*w) : nullptr, identity, ca,
                               w->settings().insecure_skip_verify);
}

std::string peer_subject(const grpc::ServerContextBase& ctx) {
    const auto auth = ctx.auth_context();
    if (!auth || !auth->IsPeerAuthenticated()) {
        return {};
    }
    const auto v = auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
    if (v.empty()) {
        return {};
    }
    return std::string(v.front().data(), v.front().size());
}

std::string peer_certificate_pem(const grpc::ServerContextBase& ctx) {
    const auto auth = ctx.auth_context();
    if (!auth || !auth->IsPeerAuthenticated()) {
        return {};
    }
    const auto v = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (v.empty()) {
        return {};
    }
    return std::string(v.front().data(), v.front().size());
}

}  // namespace fjord::tls
