package backlinks

import (
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// The seven methods of the Backlinks API that are not paged: one request
// a query, whose data is one object (one row: getSummary, getSummaryV2)
// or a list (its rows), billed as each spec's "Credits" note says.

// summaryV2Keys are getSummaryV2's data keys, in the spec's order. The
// spec spells the first sersptat_domain_rank; its column is
// serpstat_domain_rank, and the right spelling is read too.
var summaryV2Keys = []string{
	"sersptat_domain_rank", "referring_domains", "referring_domains_change", "redirected_domains",
	"referring_malicious_domains", "referring_malicious_domains_change", "referring_ip_addresses",
	"referring_ip_addresses_change", "referring_subnets", "referring_subnets_change", "backlinks",
	"backlinks_change", "backlinks_from_mainpages", "backlinks_from_mainpages_change", "nofollow_backlinks",
	"nofollow_backlinks_change", "dofollow_backlinks", "dofollow_backlinks_change", "text_backlinks",
	"text_backlinks_change", "image_backlinks", "image_backlinks_change", "redirect_backlinks",
	"redirect_backlinks_change", "canonical_backlinks", "canonical_backlinks_change", "alternate_backlinks",
	"alternate_backlinks_change", "rss_backlinks", "rss_backlinks_change", "frame_backlinks",
	"frame_backlinks_change", "form_backlinks", "form_backlinks_change", "external_domains",
	"external_domains_change", "external_malicious_domains", "external_malicious_domains_change",
	"external_links", "external_links_change",
}

// summaryKeys are getSummary's data keys, in the spec's order.
var summaryKeys = []string{
	"referringDomains", "referringSubDomains", "referringLinks", "totalIndexed", "externalDomains",
	"noFollowLinks", "doFollowLinks", "referringIps", "referringSubnets", "trustRank", "citationRank",
	"domainZoneEdu", "domainZoneGov", "outlinksTotal", "outlinksUnique", "facebookLinks", "pinterestLinks",
	"linkedinLinks", "vkLinks", "typeText", "typeImg", "typeRedirect", "typeAlt", "referringDomainsDynamics",
	"referringSubDomainsDynamics", "referringLinksDynamics", "totalIndexedDynamics", "externalDomainsDynamics",
	"noFollowLinksDynamics", "doFollowLinksDynamics", "referringIpsDynamics", "referringSubnetsDynamics",
	"trustRankDynamics", "citationRankDynamics", "domainZoneEduDynamics", "domainZoneGovDynamics",
	"outlinksTotalDynamics", "outlinksUniqueDynamics", "facebookLinksDynamics", "pinterestLinksDynamics",
	"linkedinLinksDynamics", "vkLinksDynamics", "typeTextDynamics", "typeImgDynamics", "typeRedirectDynamics",
	"typeAltDynamics", "threats", "threatsDynamics", "mainPageLinks", "mainPageLinksDynamics", "domainRank",
}

// counts are integer columns named in snake_case from keys, each read
// under its key and its snake_case form.
func counts(keys []string) []serpstat.Column {
	cols := make([]serpstat.Column, len(keys))
	for i, k := range keys {
		name := serpstat.Snake(k)
		if name == k {
			cols[i] = num(name)
		} else {
			cols[i] = num(name, k, name)
		}
	}
	return cols
}

// perRequest is the billing of a method that costs n credits a request.
func perRequest(n int64) serpstat.Billing { return serpstat.Billing{PerRequest: n} }

// combinations is how many rows getIntersectSummary answers: one for
// every combination of the query and its intersect domains (the spec's
// example: 7 for a query and two domains).
func combinations(p serpstat.Params) int { return 1<<(1+len(p.Intersect)) - 1 }

// The methods that are not paged, each once.
var (
	SummaryV2 = &serpstat.Method{
		Name: "summary-v2", API: procedure + "getSummaryV2",
		Doc: "a site's link profile in 40 counts (5 credits a request)",
		Columns: func() []serpstat.Column {
			cols := counts(summaryV2Keys)
			cols[0] = num("serpstat_domain_rank", "sersptat_domain_rank", "serpstat_domain_rank")
			return cols
		}(),
		Extra:       true,
		SearchTypes: domainSearch,
		NotPaged:    &serpstat.NotPaged{Object: true},
		Billing:     perRequest(5),
	}
	Summary = &serpstat.Method{
		Name: "summary", API: procedure + "getSummary",
		Doc:         "a site's link profile in 51 counts, the deprecated version of summary-v2 (5 credits a request)",
		Columns:     counts(summaryKeys),
		Extra:       true,
		SearchTypes: domainSearch,
		NotPaged:    &serpstat.NotPaged{Object: true},
		Billing:     perRequest(5),
	}
	TopAnchors = &serpstat.Method{
		Name: "top-anchors", API: procedure + "getTopAnchors",
		Doc:         "a site's 10 most popular backlink anchors (1 credit a request)",
		Columns:     []serpstat.Column{str("anchor"), num("backlinks_count"), num("domains_count")},
		Extra:       true,
		SearchTypes: domainSearch,
		NotPaged:    &serpstat.NotPaged{},
		Billing:     perRequest(1),
	}
	IntersectSummary = &serpstat.Method{
		Name: "intersect-summary", API: procedure + "getIntersectSummary",
		Doc: "how many referring domains a site shares with 1 or 2 others (--intersect a.com,b.com), per combination (1 credit a row: 3 or 7)",
		// domains names the combination: "gepur.com, klubok.com".
		Columns:   []serpstat.Column{num("referring_domains_count"), str("domains")},
		Extra:     true,
		Intersect: 2,
		NotPaged:  &serpstat.NotPaged{MaxRows: combinations},
	}
	DistributionSDR = &serpstat.Method{
		Name: "distribution-sdr", API: procedure + "getDistributionSDR",
		Doc:         "a site's referring domains by SDR range (1 credit a request)",
		Columns:     []serpstat.Column{str("sdr_range"), num("domains")},
		Extra:       true,
		SearchTypes: domainSearch,
		NotPaged:    &serpstat.NotPaged{},
		Billing:     perRequest(1),
	}
	DistributionTLD = &serpstat.Method{
		Name: "distribution-tld", API: procedure + "getDistributionTLD",
		Doc: "a site's referring domains by top-level domain, with their country (1 credit a request)",
		Columns: []serpstat.Column{
			str("tld"), str("country_name"), str("country_code"),
			col("percentage", serpstat.KindFloat), num("domains"),
		},
		Extra:       true,
		SearchTypes: domainSearch,
		NotPaged:    &serpstat.NotPaged{},
		Billing:     perRequest(1),
		Params: []serpstat.Param{{Name: "lang", Kind: serpstat.KindString, Values: []string{"en", "ru", "uk", "de", "se"},
			Doc: "language of country_name (the API's default: en)"}},
	}
	ChangesHistory = &serpstat.Method{
		Name: "changes-history", API: procedure + "getBacklinksChangesHistory",
		Doc:         "a site's backlinks found and lost, by date (1 credit a request)",
		Columns:     []serpstat.Column{col("date", serpstat.KindDate), num("lost_links"), num("new_links")},
		Extra:       true,
		SearchTypes: domainSearch,
		NotPaged:    &serpstat.NotPaged{},
		Billing:     perRequest(1),
	}
)

// NotPaged are the seven methods that are not paged, in the order
// `methods` lists them (after the paged ones).
var NotPaged = []*serpstat.Method{
	SummaryV2, Summary, TopAnchors, IntersectSummary, DistributionSDR, DistributionTLD, ChangesHistory,
}

// All are every method, paged (Methods) and not (NotPaged), in the order
// `methods` lists them.
var All = append(append([]*serpstat.Method{}, Methods...), NotPaged...)
