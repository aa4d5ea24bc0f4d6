// File: common/objstore/s3_protocol_test.cc
//
// The S3 backend's pure rules (s3_protocol.h): addressing and config checks,
// retry classification, backoff, the XML of list pages and error documents,
// and range replies. No network.
#include "common/objstore/s3_protocol.h"

#include <gtest/gtest.h>

namespace fjord::objstore::s3 {
namespace {

store_config s3_config() {
    store_config c;
    c.kind = store_config::backend::s3;
    c.bucket = "fjord-data";
    c.region = "eu-west-1";
    return c;
}

// ---------------------------------------------------------------- addressing

TEST(S3ProtocolTest, DefaultEndpointIsVirtualHostOverTls) {
    auto ep = make_endpoint(s3_config());
    ASSERT_TRUE(ep.has_value()) << ep.error().message();
    EXPECT_TRUE(ep->tls);
    EXPECT_EQ(ep->host, "fjord-data.s3.eu-west-1.amazonaws.com");
    EXPECT_EQ(ep->host_header(), "fjord-data.s3.eu-west-1.amazonaws.com");
    EXPECT_EQ(ep->path("topic/0/seg 1"), "/topic/0/seg 1");
    EXPECT_EQ(ep->path(""), "/");
    EXPECT_EQ(ep->url(ep->path("topic/0/seg 1"), "a=1"),
              "https://fjord-data.s3.eu-west-1.amazonaws.com:443/topic/0/seg%201?a=1");
    EXPECT_EQ(ep->describe(),
              "s3://fjord-data (fjord-data.s3.eu-west-1.amazonaws.com:443, eu-west-1, "
              "virtual-host, tls)");
}

TEST(S3ProtocolTest, PathStyleWithEndpointOverride) {
    store_config c = s3_config();
    c.endpoint = "127.0.0.1";
    c.port = 9000;
    c.disable_tls = true;
    c.path_style = true;
    auto ep = make_endpoint(c);
    ASSERT_TRUE(ep.has_value()) << ep.error().message();
    EXPECT_EQ(ep->host, "127.0.0.1");
    EXPECT_EQ(ep->host_header(), "127.0.0.1:9000");
    EXPECT_EQ(ep->path("a/b+c"), "/fjord-data/a/b+c");
    EXPECT_EQ(ep->path(""), "/fjord-data");
    EXPECT_EQ(ep->url(ep->path("a/b+c"), ""), "http://127.0.0.1:9000/fjord-data/a/b%2Bc");

    c.port = 80;
    EXPECT_EQ(make_endpoint(c)->host_header(), "127.0.0.1");
}

TEST(S3ProtocolTest, ConfigErrorsNameTheKey) {
    auto field_of = [](const store_config& c) {
        auto ep = make_endpoint(c);
        EXPECT_FALSE(ep.has_value());
        if (ep.has_value()) {
            return std::string();
        }
        EXPECT_EQ(ep.code(), make_error_code(errc::config));
        return ep.error().field;
    };
    store_config c = s3_config();
    c.kind = store_config::backend::local;
    EXPECT_EQ(field_of(c), "cloud_storage_backend");
    for (const char* bad : {"", "ab", "Upper", "under_score", "-lead", "a..b", "192.168.1.1"}) {
        c = s3_config();
        c.bucket = bad;
        EXPECT_EQ(field_of(c), "cloud_storage_bucket") << bad;
    }
    c = s3_config();
    c.region = "";
    EXPECT_EQ(field_of(c), "cloud_storage_region");
    for (const char* bad : {"https://s3.example", "host:9000", "host/path", "bad host", "[::1"}) {
        c = s3_config();
        c.endpoint = bad;
        c.path_style = true;
        EXPECT_EQ(field_of(c), "cloud_storage_api_endpoint") << bad;
    }
    for (int bad : {0, -1, 65536}) {
        c = s3_config();
        c.port = bad;
        EXPECT_EQ(field_of(c), "cloud_storage_api_endpoint_port") << bad;
    }
    c = s3_config();
    c.endpoint = "10.0.0.1";
    EXPECT_EQ(field_of(c), "cloud_storage_url_style");  // vhost needs a name
    c.endpoint = "[::1]";
    EXPECT_EQ(field_of(c), "cloud_storage_url_style");
    c.path_style = true;
    EXPECT_TRUE(make_endpoint(c).has_value());
    c = s3_config();
    c.bucket = "with.dots";
    EXPECT_EQ(field_of(c), "cloud_storage_url_style");  // TLS wildcard cannot cover it
    c.disable_tls = true;
    EXPECT_TRUE(make_endpoint(c).has_value());
    c = s3_config();
    c.request_timeout_ms = 0;
    EXPECT_EQ(field_of(c), "cloud_storage_request_timeout_ms");
    c = s3_config();
    c.max_retries = -1;
    EXPECT_EQ(field_of(c), "cloud_storage_max_retries");
    c = s3_config();
    c.backoff_ms = -5;
    EXPECT_EQ(field_of(c), "cloud_storage_initial_backoff_ms");
}

// ------------------------------------------------------------ classification

TEST(S3ProtocolTest, Classification) {
    struct row {
        attempt a;
        bool success;
        bool retry;
        errc code;
    };
    const row rows[] = {
        {{transport::ok, 200, ""}, true, false, errc::io_error},
        {{transport::ok, 204, ""}, true, false, errc::io_error},
        {{transport::ok, 206, ""}, true, false, errc::io_error},
        {{transport::ok, 500, "InternalError"}, false, true, errc::transient},
        {{transport::ok, 502, ""}, false, true, errc::transient},
        {{transport::ok, 503, "SlowDown"}, false, true, errc::transient},
        {{transport::ok, 503, ""}, false, true, errc::transient},
        {{transport::ok, 429, ""}, false, true, errc::transient},
        {{transport::ok, 400, "SlowDown"}, false, true, errc::transient},
        {{transport::ok, 400, "RequestTimeout"}, false, true, errc::transient},
        {{transport::ok, 404, "NoSuchKey"}, false, false, errc::not_found},
        {{transport::ok, 404, ""}, false, false, errc::not_found},  // HEAD: no body
        {{transport::ok, 404, "NoSuchBucket"}, false, false, errc::rejected},
        {{transport::ok, 403, "AccessDenied"}, false, false, errc::rejected},
        {{transport::ok, 403, "SignatureDoesNotMatch"}, false, false, errc::rejected},
        {{transport::ok, 400, "BadDigest"}, false, false, errc::rejected},
        {{transport::ok, 400, "XAmzContentSHA256Mismatch"}, false, false, errc::rejected},
        {{transport::ok, 416, "InvalidRange"}, false, false, errc::rejected},
        {{transport::ok, 409, ""}, false, false, errc::rejected},
        {{transport::ok, 301, "PermanentRedirect"}, false, false, errc::rejected},
        {{transport::timeout, 0, ""}, false, true, errc::timeout},
        {{transport::connect, 0, ""}, false, true, errc::transient},
        {{transport::partial, 200, ""}, false, true, errc::corrupt},
        {{transport::tls, 0, ""}, false, false, errc::rejected},
        {{transport::other, 0, ""}, false, false, errc::io_error},
    };
    for (const row& r : rows) {
        SCOPED_TRACE(std::to_string(r.a.status) + " " + r.a.error_code + " transport " +
                     std::to_string(static_cast<int>(r.a.how)));
        const verdict v = classify(r.a);
        EXPECT_EQ(v.success, r.success);
        if (!r.success) {
            EXPECT_EQ(v.retry, r.retry);
            EXPECT_EQ(v.code, r.code);
        }
    }
}

TEST(S3ProtocolTest, BackoffIsFullJitterUnderADoublingCeiling) {
    using std::chrono::milliseconds;
    // The draw is taken modulo ceiling+1: the maximum draw gives the ceiling.
    const uint64_t top = ~uint64_t{0};
    EXPECT_EQ(backoff_delay(0, 100, 100), milliseconds(100));
    EXPECT_EQ(backoff_delay(1, 100, 200), milliseconds(200));
    EXPECT_EQ(backoff_delay(3, 100, 800), milliseconds(800));
    EXPECT_EQ(backoff_delay(3, 100, 801), milliseconds(0));
    EXPECT_EQ(backoff_delay(0, 100, 0), milliseconds(0));
    EXPECT_LE(backoff_delay(2, 100, top), milliseconds(400));
    // Capped, also for large retry numbers (no overflow).
    EXPECT_EQ(backoff_delay(20, 100, max_backoff_ms), milliseconds(max_backoff_ms));
    EXPECT_LE(backoff_delay(90, 100, top), milliseconds(max_backoff_ms));
    EXPECT_EQ(backoff_delay(5, 0, top), milliseconds(0));
}

// ----------------------------------------------------------------------- XML

TEST(S3ProtocolTest, ParsesAListPageWithEntitiesAndContinuation) {
    const std::string body = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>fjord-data</Name><Prefix>t/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <ContinuationToken>old</ContinuationToken>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>t/a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>t/&#65;&#x42;</Key><Size>0</Size></Contents>
  <!-- a comment <Contents><Key>not/a/key</Key></Contents> -->
  <Contents><Key><![CDATA[t/cdata&raw]]></Key><Size>18446744073709551615</Size></Contents>
</ListBucketResult>)";
    auto page = parse_list_page(body);
    ASSERT_TRUE(page.has_value()) << page.error().message();
    ASSERT_EQ(page->objects.size(), 3u);
    EXPECT_EQ(page->objects[0].key, "t/a&b <c> \"d\" 'e'");
    EXPECT_EQ(page->objects[0].size, 434234u);
    EXPECT_EQ(page->objects[1].key, "t/AB");
    EXPECT_EQ(page->objects[1].size, 0u);
    EXPECT_EQ(page->objects[2].key, "t/cdata&raw");
    EXPECT_EQ(page->objects[2].size, 18446744073709551615u);
    EXPECT_TRUE(page->truncated);
    EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3ProtocolTest, ParsesTheLastAndAnEmptyPage) {
    auto last = parse_list_page(
        "<ListBucketResult><IsTruncated>false</IsTruncated>"
        "<Contents><Key>k</Key><Size>5</Size></Contents></ListBucketResult>");
    ASSERT_TRUE(last.has_value()) << last.error().message();
    EXPECT_FALSE(last->truncated);
    ASSERT_EQ(last->objects.size(), 1u);

    auto empty = parse_list_page(
        "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><Prefix/>"
        "<KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>\n");
    ASSERT_TRUE(empty.has_value()) << empty.error().message();
    EXPECT_TRUE(empty->objects.empty());
    EXPECT_FALSE(empty->truncated);
}

TEST(S3ProtocolTest, RefusesBadListPages) {
    const char* bad[] = {
        "",
        "not xml",
        "<ListBucketResult>",                        // not closed
        "<ListBucketResult></ListBucket>",           // mismatched
        "<Error><Code>AccessDenied</Code></Error>",  // not a list
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>1x</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>a & b</Key><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>&#0;</Key><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",  // no token
        "<ListBucketResult/><ListBucketResult/>",                                // two roots
        "<!DOCTYPE x [<!ENTITY e \"boom\">]><ListBucketResult/>",
        "text<ListBucketResult/>",
        "<ListBucketResult a=b/>",
    };
    for (const char* b : bad) {
        auto page = parse_list_page(b);
        EXPECT_FALSE(page.has_value()) << b;
        if (!page.has_value()) {
            EXPECT_EQ(page.code(), make_error_code(errc::corrupt)) << b;
        }
    }
}

TEST(S3ProtocolTest, XmlNestingIsBounded) {
    std::string deep;
    for (int i = 0; i < 100; ++i) {
        deep += "<a>";
    }
    for (int i = 0; i < 100; ++i) {
        deep += "</a>";
    }
    EXPECT_FALSE(parse_xml(deep).has_value());
}

TEST(S3ProtocolTest, ParsesErrorDocuments) {
    auto e = parse_error_document(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
        "<Message>The resource you requested does not exist</Message>"
        "<Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId>"
        "</Error>");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, "NoSuchKey");
    EXPECT_EQ(e->message, "The resource you requested does not exist");

    auto slow = parse_error_document(
        "<Error><Code>SlowDown</Code><Message>Please reduce your "
        "request rate &amp; retry.</Message></Error>");
    ASSERT_TRUE(slow.has_value());
    EXPECT_EQ(slow->message, "Please reduce your request rate & retry.");

    EXPECT_FALSE(parse_error_document("").has_value());
    EXPECT_FALSE(parse_error_document("<html>Bad Gateway</html>").has_value());
    EXPECT_FALSE(parse_error_document("upstream connect error").has_value());
}

TEST(S3ProtocolTest, DecodesEntities) {
    EXPECT_EQ(*decode_entities("a&amp;b"), "a&b");
    EXPECT_EQ(*decode_entities("&#x1234;"), "\xE1\x88\xB4");
    EXPECT_EQ(*decode_entities("&#128512;"), "\xF0\x9F\x98\x80");
    EXPECT_EQ(*decode_entities("plain"), "plain");
    EXPECT_FALSE(decode_entities("&#xD800;").has_value());
    EXPECT_FALSE(decode_entities("&#x110000;").has_value());
    EXPECT_FALSE(decode_entities("&nbsp;").has_value());
    EXPECT_FALSE(decode_entities("&#;").has_value());
}

// ---------------------------------------------------------- range responses

TEST(S3ProtocolTest, ContentRange) {
    auto r = parse_content_range("bytes 0-9/443");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->first, 0u);
    EXPECT_EQ(r->last, 9u);
    EXPECT_EQ(r->total, 443u);
    EXPECT_FALSE(parse_content_range("bytes 0-9/*")->total.has_value());
    for (const char* bad : {"", "bytes", "bytes 9-0/10", "bytes 0-9/9", "items 0-9/10",
                            "bytes 0-/10", "bytes -9/10", "bytes 0-9"}) {
        EXPECT_FALSE(parse_content_range(bad).has_value()) << bad;
    }
}

TEST(S3ProtocolTest, PartialReplies) {
    const byte_range asked{10, 19};
    EXPECT_EQ(check_partial_reply(asked, content_range{10, 19, 100}, 10), "");
    // Clipped at the object's end, as HTTP allows.
    EXPECT_EQ(check_partial_reply(asked, content_range{10, 14, 15}, 5), "");
    // Short body.
    EXPECT_NE(check_partial_reply(asked, content_range{10, 19, 100}, 9), "");
    // Over-long body.
    EXPECT_NE(check_partial_reply(asked, content_range{10, 19, 100}, 11), "");
    // Another range.
    EXPECT_NE(check_partial_reply(asked, content_range{0, 9, 100}, 10), "");
    EXPECT_NE(check_partial_reply(asked, content_range{10, 29, 100}, 20), "");
    // Shorter, but not at the end of the object.
    EXPECT_NE(check_partial_reply(asked, content_range{10, 14, 100}, 5), "");
    EXPECT_NE(check_partial_reply(asked, content_range{10, 14, std::nullopt}, 5), "");
    EXPECT_NE(check_partial_reply(asked, std::nullopt, 10), "");
}

}  // namespace
}  // namespace fjord::objstore::s3
