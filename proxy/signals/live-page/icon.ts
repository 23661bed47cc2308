/** The page's icon (favicon.svg): a gate holding water back, the way sluice holds a fast side back. */
export const LIVE_ICON = String.raw`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="#1e3a8a"/>
<path d="M3 12h11v16H3z" fill="#60a5fa"/>
<path d="M18 22h11v6H18z" fill="#93c5fd"/>
<rect x="14" y="4" width="4" height="22" rx="1" fill="#f8fafc"/>
</svg>
`;
